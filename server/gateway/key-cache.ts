import type { Backend, KeyResolution } from "./backend";

/**
 * Presented API keys resolved through the backend (`keys.resolve`) and cached
 * briefly: active keys for `positiveTtlMs`, unknown/revoked/expired ones for
 * `negativeTtlMs`. A poller reads `keys.revocationVersion` every `pollMs` and
 * evicts keys changed since the last version it saw, so a revocation (or a
 * limit change) takes effect within about a second. If the poller cannot reach
 * the backend, cached keys older than `staleMs` are re-resolved on their next
 * use instead of trusted: revocations stay honoured within 5 s either way.
 * With NATS, the backend's broadcast evicts a changed key within milliseconds
 * (`invalidate`); the poll stays as the fallback.
 *
 * Unknown secrets live in their own bounded map, so a flood of made-up keys evicts
 * only other made-up keys, never a real one. A resolution that was in flight while a
 * poll reported its key changed is asked again rather than cached as it was.
 */

export type CachedKey = {
  resolution: KeyResolution;
  at: number;
  /** Cost of requests this proxy finished since the resolution (their settlement may lag behind its period spend). */
  localSpendNano: bigint;
};

export type KeyCacheOptions = {
  positiveTtlMs?: number;
  negativeTtlMs?: number;
  pollMs?: number;
  staleMs?: number;
  maxEntries?: number;
  /** Bound of the separate cache of unknown secrets. */
  maxUnknown?: number;
  now?: () => number;
  log?: (line: string) => void;
};

export class KeyCache {
  private readonly entries = new Map<string, CachedKey>();
  /** Unknown secrets and when the backend said so. */
  private readonly unknown = new Map<string, number>();
  /** Bumped by every poll that reports changes; a key's entry says when it last changed. */
  private generation = 0;
  private readonly changedAt = new Map<string, number>();
  /** Resolutions started before this generation are not trusted for any key. */
  private everythingChangedAt = 0;
  private readonly secretsOf = new Map<string, Set<string>>();
  private readonly inflight = new Map<string, Promise<CachedKey>>();
  private version: number | null = null;
  private lastPollOk = 0;
  private timer: NodeJS.Timeout | null = null;
  private polling = false;
  private readonly o: Required<Omit<KeyCacheOptions, "log">> & { log?: (line: string) => void };

  constructor(
    private readonly backend: Backend,
    opts: KeyCacheOptions = {},
  ) {
    this.o = {
      positiveTtlMs: opts.positiveTtlMs ?? 30_000,
      negativeTtlMs: opts.negativeTtlMs ?? 5_000,
      pollMs: opts.pollMs ?? 1_000,
      staleMs: opts.staleMs ?? 4_000,
      maxEntries: opts.maxEntries ?? 100_000,
      maxUnknown: opts.maxUnknown ?? 10_000,
      now: opts.now ?? Date.now,
      log: opts.log,
    };
  }

  private fresh(e: CachedKey, now: number): boolean {
    const ttl = e.resolution.status === "active" ? this.o.positiveTtlMs : this.o.negativeTtlMs;
    if (now - e.at >= ttl) return false;
    return now - this.lastPollOk < this.o.staleMs || now - e.at < this.o.staleMs;
  }

  /** The cached resolution when fresh, else null (the caller then awaits `resolve`). */
  peek(secret: string): CachedKey | null {
    const unknownAt = this.unknown.get(secret);
    const e: CachedKey | undefined =
      unknownAt === undefined ? this.entries.get(secret) : { resolution: { status: "unknown" }, at: unknownAt, localSpendNano: 0n };
    return e && this.fresh(e, this.o.now()) ? e : null;
  }

  /** Resolves through the backend, one call per secret at a time. Rejects when the backend is unreachable. */
  resolve(secret: string): Promise<CachedKey> {
    const hit = this.peek(secret);
    if (hit) return Promise.resolve(hit);
    let p = this.inflight.get(secret);
    if (p) return p;
    const started = this.generation;
    p = this.backend
      .resolveKey(secret)
      // Changed while in flight (a revocation, say): the answer may predate it, so ask once more.
      .then((resolution) => (this.changedSince(resolution, started) ? this.backend.resolveKey(secret) : resolution))
      .then((resolution) => {
        const e: CachedKey = { resolution, at: this.o.now(), localSpendNano: 0n };
        if (resolution.status === "unknown") this.storeUnknown(secret, e.at);
        else this.store(secret, e);
        return e;
      })
      .finally(() => this.inflight.delete(secret));
    this.inflight.set(secret, p);
    return p;
  }

  private changedSince(resolution: KeyResolution, generation: number): boolean {
    if (resolution.status === "unknown") return false;
    return this.everythingChangedAt > generation || (this.changedAt.get(resolution.keyId) ?? 0) > generation;
  }

  private storeUnknown(secret: string, at: number) {
    if (this.unknown.size >= this.o.maxUnknown) {
      let n = Math.ceil(this.o.maxUnknown / 10);
      for (const s of this.unknown.keys()) {
        this.unknown.delete(s);
        if (--n === 0) break;
      }
    }
    this.evictSecret(secret);
    this.unknown.delete(secret);
    this.unknown.set(secret, at);
  }

  private store(secret: string, e: CachedKey) {
    this.unknown.delete(secret);
    if (this.entries.size >= this.o.maxEntries) {
      // Map iteration is insertion order: drop the oldest tenth (a flood of made-up keys cannot grow memory).
      let n = Math.ceil(this.o.maxEntries / 10);
      for (const s of this.entries.keys()) {
        this.evictSecret(s);
        if (--n === 0) break;
      }
    }
    this.evictSecret(secret);
    this.entries.set(secret, e);
    if (e.resolution.status !== "unknown") {
      const id = e.resolution.keyId;
      (this.secretsOf.get(id) ?? this.secretsOf.set(id, new Set()).get(id)!).add(secret);
    }
  }

  private evictSecret(secret: string) {
    const e = this.entries.get(secret);
    if (!e) return;
    this.entries.delete(secret);
    if (e.resolution.status !== "unknown") {
      const set = this.secretsOf.get(e.resolution.keyId);
      set?.delete(secret);
      if (set?.size === 0) this.secretsOf.delete(e.resolution.keyId);
    }
  }

  /** Forgets every cached secret of a key. */
  evictKey(keyId: string) {
    for (const s of [...(this.secretsOf.get(keyId) ?? [])]) this.evictSecret(s);
  }

  /** Adds a finished request's cost to the key's locally known period spend. */
  addSpend(keyId: string, costNano: bigint) {
    for (const s of this.secretsOf.get(keyId) ?? []) {
      const e = this.entries.get(s);
      if (e) e.localSpendNano += costNano;
    }
  }

  private forgetEverything() {
    this.everythingChangedAt = ++this.generation;
    this.changedAt.clear();
    for (const s of [...this.entries.keys()]) this.evictSecret(s);
    this.unknown.clear();
  }

  private markChanged(keyIds: readonly string[]) {
    // More changes than worth tracking: forget everything instead.
    if (this.changedAt.size + keyIds.length > this.o.maxEntries) return this.forgetEverything();
    this.generation++;
    for (const id of keyIds) {
      this.changedAt.set(id, this.generation);
      this.evictKey(id);
    }
  }

  /**
   * Keys a broadcast says changed (server/fleet/broadcast-contract.ts): forgotten, and a resolution
   * in flight asked again, exactly as when a poll reports them. It only ever makes the proxy ask the
   * backend sooner, so a forged message cannot make a revoked key work.
   */
  invalidate(keyIds: readonly string[]) {
    this.markChanged(keyIds);
  }

  /** One poll of the revocation version; evicts changed keys. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const since = this.version ?? undefined;
      const { version, changedKeyIds } = await this.backend.revocationVersion(since);
      // First poll (no version to compare with): anything cached may predate a change.
      if (changedKeyIds === null) this.forgetEverything();
      else if (changedKeyIds.length) this.markChanged(changedKeyIds);
      this.version = version;
      this.lastPollOk = this.o.now();
    } catch (err) {
      this.o.log?.(`revocation poll failed: ${(err as Error).message}`);
    } finally {
      this.polling = false;
    }
  }

  start() {
    void this.poll();
    this.timer = setInterval(() => void this.poll(), this.o.pollMs);
    this.timer.unref();
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
  }
}
