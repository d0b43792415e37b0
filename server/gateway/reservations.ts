import { uuidv7 } from "../lib/ids";
import type { Backend } from "./backend";

/**
 * Local credit per API key, spent from reservations the backend grants in
 * chunks (docs/DESIGN.md "Credit control"). A request takes its
 * worst-case estimate from the key's current reservation and gives back what
 * it did not use; the backend is asked for another chunk ahead of need, one
 * call at a time per key, so the hot path never waits on it while credit lasts.
 * Leftovers go back (`reservations.release`) when a reservation is replaced,
 * when the key goes idle, and at shutdown.
 *
 * A proxy run by a provider with its provider token may hold a buyer's credit only
 * for its own listings, naming each (server/usage/service-scope.ts): it holds per
 * key and listing (`perListing`). The platform's proxy holds per key, for any listing.
 */

export type LimitedBy = "credit" | "key_limit" | "blocked" | "unavailable";

type Reservation = {
  id: string;
  remainingNano: bigint;
  inflight: number;
  expiresAt: number;
  /** Replaced by a newer one: its leftover returns once its requests finish. */
  draining: boolean;
};

export type Hold = { reservationId: string; amountNano: bigint; reservation: Reservation; keyId: string };
export type Refusal = { limitedBy: LimitedBy; availableNano: bigint };

type KeyCredit = {
  keyId: string;
  /** Sent with every reserve call when credit is held per listing. */
  listingId: string | undefined;
  current: Reservation | null;
  refill: Promise<void> | null;
  /** After a refused (0) grant the backend is not asked again for this key until then. */
  refusedUntil: number;
  refusedBy: LimitedBy;
  lastUsed: number;
  /** The id of a reserve call whose answer was lost: asked again with it, the backend returns that grant instead of holding twice. */
  retryId: string | null;
};

export type CreditOptions = {
  /** Smallest chunk asked of the backend (it asks for a request's estimate when that is larger). */
  chunkNano: bigint;
  ttlSeconds: number;
  /** Ask for the next chunk once the current one is below this share of a chunk. */
  refillBelow: number;
  /** A reservation this close to expiry is replaced rather than spent from. */
  expiryMarginMs: number;
  /** How long a refusal stands before the backend is asked again (top-ups show up after it). */
  refusalBackoffMs: number;
  /** Keys unused this long return their leftover, so a buyer's balance shows no hold soon after their last request. */
  idleMs: number;
  /** Hold per (key, listing) and name the listing when reserving: required of a provider's service token. */
  perListing?: boolean;
  now?: () => number;
  log?: (line: string) => void;
};

export const defaultCreditOptions = {
  ttlSeconds: 300,
  refillBelow: 0.25,
  expiryMarginMs: 30_000,
  refusalBackoffMs: 1_000,
  idleMs: 10_000,
} satisfies Partial<CreditOptions>;

export class CreditControl {
  private readonly keys = new Map<string, KeyCredit>();
  private readonly now: () => number;
  private readonly releases = new Set<Promise<unknown>>();
  /** nano-USD granted and released over the process's life, for /metrics. */
  grantedNano = 0n;
  releasedNano = 0n;

  constructor(
    private readonly backend: Backend,
    private readonly opts: CreditOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.refillAtNano = (opts.chunkNano * BigInt(Math.round(opts.refillBelow * 1000))) / 1000n;
  }

  /** Below this much left, the next chunk is asked for ahead of need. */
  private readonly refillAtNano: bigint;

  private entry(keyId: string, listingId: string | undefined): KeyCredit {
    const perListing = this.opts.perListing === true;
    if (perListing && !listingId) throw new Error("credit held per listing needs the request's listing");
    const slot = perListing ? `${keyId} ${listingId}` : keyId;
    let kc = this.keys.get(slot);
    if (!kc) {
      kc = {
        keyId,
        listingId: perListing ? listingId : undefined,
        current: null,
        refill: null,
        refusedUntil: 0,
        refusedBy: "credit",
        lastUsed: this.now(),
        retryId: null,
      };
      this.keys.set(slot, kc);
    }
    return kc;
  }

  private usable(r: Reservation | null): r is Reservation {
    return r !== null && !r.draining && r.expiresAt - this.now() > this.opts.expiryMarginMs;
  }

  private take(keyId: string, r: Reservation, amountNano: bigint): Hold {
    r.remainingNano -= amountNano;
    r.inflight++;
    return { reservationId: r.id, amountNano, reservation: r, keyId };
  }

  /**
   * Holds `estimateNano` for a request. With `minNano`, a request whose
   * max_tokens the proxy chose may run on less: it gets whatever the key's
   * reservation has left, if that covers `minNano`. Refused when neither fits.
   * `listingId`: the listing the request goes to first (the credit is held for it with `perListing`).
   */
  acquire(keyId: string, estimateNano: bigint, minNano?: bigint, listingId?: string): Hold | Refusal | Promise<Hold | Refusal> {
    const kc = this.entry(keyId, listingId);
    kc.lastUsed = this.now();
    // While the reservation covers it (nearly always), synchronously: no promise to wait a turn for.
    const r = kc.current;
    if (this.usable(r) && r.remainingNano >= estimateNano) return this.takeAndTopUp(kc, r, estimateNano);
    return this.acquireAfterRefill(kc, estimateNano, minNano);
  }

  private takeAndTopUp(kc: KeyCredit, r: Reservation, estimateNano: bigint): Hold {
    const hold = this.take(kc.keyId, r, estimateNano);
    if (r.remainingNano < this.refillAtNano) void this.refill(kc, this.opts.chunkNano);
    return hold;
  }

  private async acquireAfterRefill(kc: KeyCredit, estimateNano: bigint, minNano: bigint | undefined): Promise<Hold | Refusal> {
    const keyId = kc.keyId;
    for (let attempt = 0; attempt < 2; attempt++) {
      await this.refill(kc, estimateNano > this.opts.chunkNano ? estimateNano : this.opts.chunkNano);
      const r = kc.current;
      if (this.usable(r) && r.remainingNano >= estimateNano) return this.takeAndTopUp(kc, r, estimateNano);
    }
    const r = kc.current;
    const available = this.usable(r) ? r.remainingNano : 0n;
    if (minNano !== undefined && this.usable(r) && available >= minNano && available > 0n) return this.take(keyId, r, available);
    return { limitedBy: kc.refusedUntil > this.now() ? kc.refusedBy : "credit", availableNano: available > 0n ? available : 0n };
  }

  /** One reserve call per key (and listing) at a time; callers arriving meanwhile wait for its answer. */
  private refill(kc: KeyCredit, amountNano: bigint): Promise<void> {
    if (kc.refill) return kc.refill;
    if (kc.refusedUntil > this.now()) return Promise.resolve();
    kc.refill = (async () => {
      const id = kc.retryId ?? uuidv7();
      try {
        const grant = await this.backend.reserve({ id, keyId: kc.keyId, listingId: kc.listingId, amountNano, ttlSeconds: this.opts.ttlSeconds });
        kc.retryId = null;
        if (grant.grantedNano <= 0n) {
          kc.refusedUntil = this.now() + this.opts.refusalBackoffMs;
          kc.refusedBy = grant.limitedBy ?? "credit";
          return;
        }
        this.grantedNano += grant.grantedNano;
        const old = kc.current;
        kc.current = { id: grant.id, remainingNano: grant.grantedNano, inflight: 0, expiresAt: grant.expiresAt.getTime(), draining: false };
        if (grant.limitedBy) {
          // Less than asked: the balance or key limit is near; ask again only after the backoff.
          kc.refusedUntil = this.now() + this.opts.refusalBackoffMs;
          kc.refusedBy = grant.limitedBy;
        }
        if (old) {
          old.draining = true;
          this.releaseIfDone(old);
        }
      } catch (err) {
        kc.retryId = id;
        this.opts.log?.(`reserve failed for key ${kc.keyId}${kc.listingId ? ` on listing ${kc.listingId}` : ""}: ${(err as Error).message}`);
        kc.refusedUntil = this.now() + this.opts.refusalBackoffMs;
        kc.refusedBy = "unavailable";
      } finally {
        kc.refill = null;
      }
    })();
    return kc.refill;
  }

  /** Gives back what a request held beyond its actual cost (which may exceed the hold: usage is a fact). */
  settle(hold: Hold, costNano: bigint) {
    const r = hold.reservation;
    r.remainingNano += hold.amountNano - costNano;
    r.inflight--;
    this.releaseIfDone(r);
  }

  private releaseIfDone(r: Reservation) {
    if (!r.draining || r.inflight > 0 || r.remainingNano <= 0n) return;
    const amountNano = r.remainingNano;
    r.remainingNano = 0n;
    const p = this.backend
      .release({ id: r.id, amountNano })
      .then((out) => {
        this.releasedNano += out.releasedNano;
      })
      .catch((err: Error) => this.opts.log?.(`release of ${r.id} failed (it expires by itself): ${err.message}`))
      .finally(() => this.releases.delete(p));
    this.releases.add(p);
  }

  /** Returns the leftovers of keys idle for `idleMs` (all keys with `all`, at shutdown). */
  async releaseIdle(all = false): Promise<void> {
    const cutoff = this.now() - this.opts.idleMs;
    for (const [slot, kc] of this.keys) {
      if (!all && kc.lastUsed > cutoff) continue;
      if (kc.current) {
        kc.current.draining = true;
        this.releaseIfDone(kc.current);
      }
      if (!kc.current || kc.current.inflight === 0) this.keys.delete(slot);
    }
    await Promise.all([...this.releases]);
  }

  /** What the key's current reservations have left, over all its listings (for /v1/key). */
  availableNano(keyId: string): bigint | null {
    let total: bigint | null = null;
    for (const kc of this.keys.values()) if (kc.keyId === keyId && this.usable(kc.current)) total = (total ?? 0n) + kc.current.remainingNano;
    return total;
  }
}

export function isHold(x: Hold | Refusal): x is Hold {
  return "reservationId" in x;
}
