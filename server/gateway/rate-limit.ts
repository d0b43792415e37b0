/**
 * Requests and tokens per minute per key, counted locally over a sliding
 * window of 60 one-second buckets (the proxy enforces a key's rpm/tpm limits
 * without asking the backend). Accurate to a second; a key served by several
 * proxies gets its limit per proxy.
 */

const BUCKETS = 60;

export class SlidingWindow {
  private readonly counts = new Float64Array(BUCKETS);
  private second = 0;
  private total = 0;

  /** Drops buckets older than 60 s as of `nowMs`. */
  private advance(nowMs: number) {
    const s = Math.floor(nowMs / 1000);
    if (s <= this.second) return;
    const steps = Math.min(BUCKETS, s - this.second);
    for (let i = 1; i <= steps; i++) {
      const b = (this.second + i) % BUCKETS;
      this.total -= this.counts[b]!;
      this.counts[b] = 0;
    }
    this.second = s;
  }

  used(nowMs: number): number {
    this.advance(nowMs);
    return this.total;
  }

  add(nowMs: number, n: number) {
    this.advance(nowMs);
    this.counts[this.second % BUCKETS]! += n;
    this.total += n;
  }

  /** Whole seconds until the window has room for `n` more under `limit` (at least 1). */
  secondsUntilRoom(nowMs: number, n: number, limit: number): number {
    this.advance(nowMs);
    // The bucket i seconds ahead in the ring holds the requests that leave the window in i seconds.
    let free = limit - this.total;
    for (let i = 1; i <= BUCKETS; i++) {
      free += this.counts[(this.second + i) % BUCKETS]!;
      if (free >= n) return i;
    }
    return BUCKETS;
  }
}

export type RateCheck =
  | { ok: true; headers: Record<string, string> }
  | { ok: false; retryAfterSeconds: number; headers: Record<string, string>; which: "requests" | "tokens" };

/** What admission asks of a rate limiter: this per-process one, or the fleet-wide one (shared-rate-limit.ts) that asks Redis. */
export type RateLimits = {
  admit(keyId: string, limits: { rpm: number | null; tpm: number | null }, tokens: number, nowMs: number): RateCheck | Promise<RateCheck>;
  adjustTokens(keyId: string, delta: number, nowMs: number): void;
};

type KeyWindows = { requests: SlidingWindow; tokens: SlidingWindow };

export class RateLimiter implements RateLimits {
  private readonly keys = new Map<string, KeyWindows>();

  private windows(keyId: string): KeyWindows {
    let w = this.keys.get(keyId);
    if (!w) {
      w = { requests: new SlidingWindow(), tokens: new SlidingWindow() };
      this.keys.set(keyId, w);
    }
    return w;
  }

  /**
   * Admits one request of `tokens` estimated prompt tokens, counting it, or
   * says how long to wait. Headers follow OpenAI's x-ratelimit-* names.
   */
  admit(keyId: string, limits: { rpm: number | null; tpm: number | null }, tokens: number, nowMs: number): RateCheck {
    if (limits.rpm === null && limits.tpm === null) return { ok: true, headers: {} };
    const w = this.windows(keyId);
    const headers: Record<string, string> = {};
    let refusal: { which: "requests" | "tokens"; retry: number } | null = null;
    if (limits.rpm !== null) {
      const used = w.requests.used(nowMs);
      headers["x-ratelimit-limit-requests"] = String(limits.rpm);
      if (used + 1 > limits.rpm) {
        const retry = w.requests.secondsUntilRoom(nowMs, 1, limits.rpm);
        refusal = { which: "requests", retry };
        headers["x-ratelimit-remaining-requests"] = "0";
        headers["x-ratelimit-reset-requests"] = `${retry}s`;
      } else {
        headers["x-ratelimit-remaining-requests"] = String(limits.rpm - used - 1);
        headers["x-ratelimit-reset-requests"] = "60s";
      }
    }
    if (limits.tpm !== null) {
      const used = w.tokens.used(nowMs);
      headers["x-ratelimit-limit-tokens"] = String(limits.tpm);
      // A prompt larger than the whole budget could never pass; let it through on an empty window.
      if (used > 0 && used + tokens > limits.tpm) {
        const retry = w.tokens.secondsUntilRoom(nowMs, Math.min(tokens, limits.tpm), limits.tpm);
        if (!refusal || retry > refusal.retry) refusal = { which: "tokens", retry };
        headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, limits.tpm - used));
        headers["x-ratelimit-reset-tokens"] = `${retry}s`;
      } else {
        headers["x-ratelimit-remaining-tokens"] = String(Math.max(0, limits.tpm - used - tokens));
        headers["x-ratelimit-reset-tokens"] = "60s";
      }
    }
    if (refusal) return { ok: false, retryAfterSeconds: refusal.retry, headers, which: refusal.which };
    w.requests.add(nowMs, 1);
    w.tokens.add(nowMs, tokens);
    return { ok: true, headers };
  }

  /** Counts the difference between a request's actual tokens and what `admit` counted. */
  adjustTokens(keyId: string, delta: number, nowMs: number) {
    if (delta !== 0) this.keys.get(keyId)?.tokens.add(nowMs, delta);
  }
}
