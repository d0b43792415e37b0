import type { Backend, KeyResolution } from "./backend";

/**
 * Presented API keys resolved through the backend (`keys.resolve`) and cached
 * briefly: active keys for `positiveTtlMs`, unknown/revoked/expired ones for
 * `negativeTtlMs`. A poller reads `keys.revocationVersion` every `pollMs` and
 * evicts keys changed since the last version it saw, so a revocation (or a
 * limit change) takes effect within about a second. If the poller cannot reach
 * the backend, cached keys older than `staleMs` are re-resolved on their next
 * use instead of trusted: revocations stay honoured within 5 s either way.
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
  now?: () => number;
  log?: (line: string) => void;
};

export class KeyCache {
  private readonly entries = new Map<string, CachedKey>();
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
    const e = this.entries.get(secret);
    return e && this.fresh(e, this.o.now()) ? e : null;
  }

  /** Resolves through the backend, one call per secret at a time. Rejects when the backend is unreachable. */
  resolve(secret: string): Promise<CachedKey> {
    const hit = this.peek(secret);
    if (hit) return Promise.resolve(hit);
    let p = this.inflight.get(secret);
    if (p) return p;
    p = this.backend
      .resolveKey(secret)
      .then((resolution) => {
        const e: CachedKey = { resolution, at: this.o.now(), localSpendNano: 0n };
        this.store(secret, e);
        return e;
      })
      .finally(() => this.inflight.delete(secret));
    this.inflight.set(secret, p);
    return p;
  }

  private store(secret: string, e: CachedKey) {
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

  /** One poll of the revocation version; evicts changed keys. */
  async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      const since = this.version ?? undefined;
      const { version, changedKeyIds } = await this.backend.revocationVersion(since);
      if (changedKeyIds === null) {
        // First poll (no version to compare with): anything cached before it may predate a change.
        for (const s of [...this.entries.keys()]) this.evictSecret(s);
      } else {
        for (const id of changedKeyIds) this.evictKey(id);
      }
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
