import { Redis } from "ioredis";
import client from "prom-client";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import type { RateCheck, RateLimits } from "./rate-limit";

/**
 * A key's rpm/tpm limits across the whole fleet (REDIS_URL): rate-limiter-flexible's
 * RateLimiterRedis, a fixed window of `windowSeconds` that starts at the key's first
 * request and is counted atomically in Redis (one Lua script per counter), so two
 * proxies share one budget exactly. The request and token counters of a request go out
 * in the same tick and ioredis pipelines them into one write: one round trip per
 * limited request; a key with no limits costs none. A key that has used its rpm is
 * refused from memory for the rest of its window (inMemoryBlockOnConsumed), without
 * asking Redis at all.
 *
 * Redis unreachable: every counter falls back to its insurance limiter (the same
 * window in this process's memory), so the limits hold per proxy, as without Redis,
 * and requests are still served; the proxy logs that once per outage and counts it on
 * /metrics. Commands fail at once instead of queueing (no offline queue) so a lost
 * Redis never holds a request up for longer than `commandTimeoutMs`.
 */

export type SharedRateOptions = {
  /** The window's length: a limit "per minute" is per 60 s; tests of the window's end may shorten it. */
  windowSeconds?: number;
  commandTimeoutMs?: number;
  log?: (line: string) => void;
};

/** The per-process stand-in that rate-limiter-flexible calls when Redis fails; tells its owner it was needed. */
class Insurance extends RateLimiterMemory {
  constructor(
    opts: { points: number; duration: number; keyPrefix: string },
    private readonly used: () => void,
  ) {
    super(opts);
  }

  override consume(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.used();
    return super.consume(key, points, options);
  }

  override reward(key: string | number, points?: number, options?: Record<string, unknown>): Promise<RateLimiterRes> {
    this.used();
    return super.reward(key, points, options);
  }
}

type Outcome = { ok: boolean; res: RateLimiterRes };

const outcome = (p: Promise<RateLimiterRes>): Promise<Outcome> =>
  p.then(
    (res) => ({ ok: true, res }),
    (err: unknown) => {
      if (err instanceof RateLimiterRes) return { ok: false, res: err };
      throw err;
    },
  );

/** Keys whose window ends are remembered before the ended ones are swept out. */
const MAX_TRACKED = 10_000;

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

export class SharedRateLimiter implements RateLimits {
  /** One limiter per counter kind and limit: the counter in Redis is per key, the limit it is held to is the key's. */
  private readonly limiters = new Map<string, RateLimiterRedis>();
  /** Tokens to add to a key's next count (actual minus estimated), until its window ends. */
  private readonly corrections = new Map<string, { tokens: number; until: number }>();
  private readonly windowSeconds: number;
  /** False from Redis's first failure until it is ready again. */
  shared = true;
  /** Counts checked per process because Redis was unreachable. */
  fallbacks = 0;

  constructor(
    private readonly redis: Redis,
    private readonly opts: SharedRateOptions = {},
  ) {
    this.windowSeconds = opts.windowSeconds ?? 60;
    redis.on("error", (err: Error) => this.degraded(err.message));
    redis.on("ready", () => {
      if (this.shared) return;
      this.shared = true;
      opts.log?.("Redis is reachable again: rpm/tpm limits are shared across the fleet");
    });
  }

  private degraded(why = "not connected") {
    this.fallbacks++;
    if (!this.shared) return;
    this.shared = false;
    this.opts.log?.(`warning: Redis unreachable (${why}): rpm/tpm limits are enforced per proxy until it returns`);
  }

  private limiter(kind: "rpm" | "tpm", points: number): RateLimiterRedis {
    const name = `${kind}:${points}`;
    let l = this.limiters.get(name);
    if (!l) {
      const keyPrefix = `tm:${kind}`;
      l = new RateLimiterRedis({
        storeClient: this.redis,
        keyPrefix,
        points,
        duration: this.windowSeconds,
        rejectIfRedisNotReady: true,
        // A token count refused for being too large may be followed by a smaller one that fits: only requests block.
        ...(kind === "rpm" && { inMemoryBlockOnConsumed: points }),
        insuranceLimiter: new Insurance({ points, duration: this.windowSeconds, keyPrefix }, () => this.degraded()),
      });
      this.limiters.set(name, l);
    }
    return l;
  }

  admit(keyId: string, limits: { rpm: number | null; tpm: number | null }, tokens: number, nowMs: number): RateCheck | Promise<RateCheck> {
    if (limits.rpm === null && limits.tpm === null) return { ok: true, headers: {} };
    const requests = limits.rpm === null ? null : outcome(this.limiter("rpm", limits.rpm).consume(keyId, 1));
    let counted = 0;
    let tokenCount: Promise<Outcome> | null = null;
    if (limits.tpm !== null) {
      // A prompt larger than the whole budget could never pass: it counts as the budget, so it passes an empty window only.
      counted = Math.min(tokens, limits.tpm);
      tokenCount = outcome(this.limiter("tpm", limits.tpm).consume(keyId, counted + this.correction(keyId, nowMs)));
    }
    return Promise.all([requests, tokenCount]).then(([r, t]) => this.answer(keyId, limits, counted, r, t, nowMs));
  }

  private correction(keyId: string, nowMs: number): number {
    const c = this.corrections.get(keyId);
    if (!c) return 0;
    this.corrections.delete(keyId);
    return c.until > nowMs ? c.tokens : 0;
  }

  private answer(
    keyId: string,
    limits: { rpm: number | null; tpm: number | null },
    counted: number,
    r: Outcome | null,
    t: Outcome | null,
    nowMs: number,
  ): RateCheck {
    const headers: Record<string, string> = {};
    if (r && limits.rpm !== null) {
      headers["x-ratelimit-limit-requests"] = String(limits.rpm);
      headers["x-ratelimit-remaining-requests"] = String(r.res.remainingPoints);
      headers["x-ratelimit-reset-requests"] = `${seconds(r.res.msBeforeNext)}s`;
    }
    if (t && limits.tpm !== null) {
      headers["x-ratelimit-limit-tokens"] = String(limits.tpm);
      headers["x-ratelimit-remaining-tokens"] = String(t.res.remainingPoints);
      headers["x-ratelimit-reset-tokens"] = `${seconds(t.res.msBeforeNext)}s`;
      if (this.windowEnds.size >= MAX_TRACKED) this.forgetEnded(nowMs);
      this.windowEnds.set(keyId, nowMs + t.res.msBeforeNext);
    }
    const refusedBy = r && !r.ok ? r : t && !t.ok ? t : null;
    if (!refusedBy) return { ok: true, headers };
    // A refused request is not counted (as per process): give back what the other counter took. Refusals only, off the usual path.
    if (r?.ok && limits.rpm !== null)
      void this.limiter("rpm", limits.rpm)
        .reward(keyId, 1)
        .catch(() => {});
    if (t && limits.tpm !== null && counted > 0)
      void this.limiter("tpm", limits.tpm)
        .reward(keyId, counted)
        .catch(() => {});
    const retry = Math.max(r && !r.ok ? seconds(r.res.msBeforeNext) : 0, t && !t.ok ? seconds(t.res.msBeforeNext) : 0);
    return { ok: false, retryAfterSeconds: retry, headers, which: refusedBy === r ? "requests" : "tokens" };
  }

  /** When each tpm-limited key's current window ends, as Redis said on its last count. */
  private readonly windowEnds = new Map<string, number>();

  private forgetEnded(nowMs: number) {
    for (const [k, until] of this.windowEnds) if (until <= nowMs) this.windowEnds.delete(k);
    for (const [k, c] of this.corrections) if (c.until <= nowMs) this.corrections.delete(k);
  }

  /** Folds a finished request's token difference into the key's next count: no extra round trip per request. */
  adjustTokens(keyId: string, delta: number, nowMs: number) {
    const until = this.windowEnds.get(keyId);
    if (delta === 0 || until === undefined) return;
    if (until <= nowMs) {
      this.windowEnds.delete(keyId);
      return;
    }
    const c = this.corrections.get(keyId);
    this.corrections.set(keyId, { tokens: (c?.tokens ?? 0) + Math.round(delta), until });
  }

  /** Resolves once Redis is connected, or after `timeoutMs` (the limits then hold per proxy until it is). */
  ready(timeoutMs: number): Promise<void> {
    if (this.redis.status === "ready") return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.redis.off("ready", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.redis.once("ready", done);
    });
  }

  /** Gauges on the proxy's /metrics: whether limits are shared right now, and how many counts were not. */
  register(registry: client.Registry) {
    const self = this;
    new client.Gauge({
      name: "gateway_rate_limits_shared",
      help: "1 while rpm/tpm limits are counted in Redis for the whole fleet, 0 while Redis is unreachable and they hold per proxy",
      registers: [registry],
      collect() {
        this.set(self.shared ? 1 : 0);
      },
    });
    new client.Counter({
      name: "gateway_rate_limit_fallbacks_total",
      help: "Rate-limit counts (and Redis errors) handled in this proxy's memory because Redis was unreachable",
      registers: [registry],
      collect() {
        this.reset();
        this.inc(self.fallbacks);
      },
    });
  }

  close(): Promise<void> {
    return this.redis.quit().then(
      () => {},
      () => this.redis.disconnect(),
    );
  }
}

/** A limiter on a Redis connection made for it: fails fast rather than queueing while Redis is away. */
export function sharedRateLimiter(redisUrl: string, opts: SharedRateOptions = {}): SharedRateLimiter {
  const redis = new Redis(redisUrl, {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: opts.commandTimeoutMs ?? 250,
    // Keep trying to reconnect, at most every 2 s; requests meanwhile count per process.
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  return new SharedRateLimiter(redis, opts);
}
