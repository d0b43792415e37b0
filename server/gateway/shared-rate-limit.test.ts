import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedisServer, type RedisServer } from "../fleet/redis-server";
import type { RateCheck } from "./rate-limit";
import { sharedRateLimiter, type SharedRateLimiter } from "./shared-rate-limit";

/**
 * The fleet-wide limiter against a real redis-server: two limiters on their own
 * connections stand for two proxies.
 */

let redis: RedisServer;
const open: SharedRateLimiter[] = [];

const limiter = async (opts: Parameters<typeof sharedRateLimiter>[1] = {}) => {
  const l = sharedRateLimiter(redis.url, opts);
  open.push(l);
  await l.ready(5_000);
  return l;
};

const ok = async (c: RateCheck | Promise<RateCheck>) => (await c).ok;

async function evalCalls(): Promise<number> {
  const r = new Redis(redis.url);
  const stats = await r.info("commandstats");
  await r.quit();
  const calls = (name: string) => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(stats)?.[1] ?? 0);
  return calls("evalsha") + calls("eval");
}

beforeAll(async () => {
  redis = await startRedisServer();
});

afterAll(async () => {
  for (const l of open) await l.close();
  await redis?.stop();
});

describe("rpm/tpm limits shared through Redis", () => {
  it("two proxies admit 60 requests of an rpm-60 key between them, not 60 each", async () => {
    const a = await limiter();
    const b = await limiter();
    const now = Date.now();
    const answers = await Promise.all(Array.from({ length: 200 }, (_, i) => (i % 2 ? a : b).admit("key-rpm", { rpm: 60, tpm: null }, 10, now)));
    expect(answers.filter((x) => x.ok)).toHaveLength(60);
    const refused = answers.find((x) => !x.ok)!;
    expect(refused).toMatchObject({ ok: false, which: "requests", headers: { "x-ratelimit-limit-requests": "60", "x-ratelimit-remaining-requests": "0" } });
    // The window is the key's minute from its first request: the refusal says to come back within it.
    expect(refused.ok === false && refused.retryAfterSeconds).toBeGreaterThanOrEqual(58);
    expect(refused.ok === false && refused.retryAfterSeconds).toBeLessThanOrEqual(60);
  });

  it("refuses a blocked key from memory, without a round trip to Redis", async () => {
    const a = await limiter();
    const now = Date.now();
    for (let i = 0; i < 5; i++) expect(await ok(a.admit("key-block", { rpm: 5, tpm: null }, 1, now))).toBe(true);
    const before = await evalCalls();
    for (let i = 0; i < 50; i++) expect(await ok(a.admit("key-block", { rpm: 5, tpm: null }, 1, now))).toBe(false);
    expect(await evalCalls()).toBe(before);
  });

  it("opens a new window once the last one ends", async () => {
    const a = await limiter({ windowSeconds: 1 });
    const now = Date.now();
    for (let i = 0; i < 3; i++) expect(await ok(a.admit("key-window", { rpm: 3, tpm: null }, 1, now))).toBe(true);
    expect(await ok(a.admit("key-window", { rpm: 3, tpm: null }, 1, now))).toBe(false);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await ok(a.admit("key-window", { rpm: 3, tpm: null }, 1, Date.now()))).toBe(true);
  });

  it("counts tokens across proxies, lets an oversized prompt through an empty window only, and gives back what a refusal counted", async () => {
    const a = await limiter();
    const b = await limiter();
    const now = Date.now();
    const limits = { rpm: null, tpm: 1_000 };
    expect(await a.admit("key-tpm", limits, 600, now)).toMatchObject({ ok: true, headers: { "x-ratelimit-remaining-tokens": "400" } });
    expect(await b.admit("key-tpm", limits, 500, now)).toMatchObject({ ok: false, which: "tokens" });
    // The refused 500 were given back: 400 still fit.
    await new Promise((r) => setTimeout(r, 50));
    expect(await b.admit("key-tpm", limits, 400, now)).toMatchObject({ ok: true, headers: { "x-ratelimit-remaining-tokens": "0" } });
    expect(await a.admit("key-big", limits, 5_000, now)).toMatchObject({ ok: true });
    expect(await b.admit("key-big", limits, 1, now)).toMatchObject({ ok: false });
  });

  it("folds a request's actual tokens into the key's next count", async () => {
    const a = await limiter();
    const limits = { rpm: null, tpm: 1_000 };
    const now = Date.now();
    expect(await ok(a.admit("key-adjust", limits, 100, now))).toBe(true);
    // The request produced 700 tokens more than its prompt estimate.
    a.adjustTokens("key-adjust", 700, now + 10);
    expect(await a.admit("key-adjust", limits, 100, now + 20)).toMatchObject({ ok: true, headers: { "x-ratelimit-remaining-tokens": "100" } });
  });

  it("a key without limits costs no round trip", async () => {
    const a = await limiter();
    const before = await evalCalls();
    for (let i = 0; i < 20; i++) expect(a.admit("key-free", { rpm: null, tpm: null }, 10, Date.now())).toEqual({ ok: true, headers: {} });
    expect(await evalCalls()).toBe(before);
  });

  it("with Redis down, limits hold per proxy, requests are answered, one warning is logged, and sharing resumes when it returns", async () => {
    const lines: string[] = [];
    const a = await limiter({ log: (l) => lines.push(l) });
    const b = await limiter();
    expect(await ok(a.admit("key-down", { rpm: 3, tpm: null }, 1, Date.now()))).toBe(true);
    const port = redis.port;
    await redis.stop();
    const now = Date.now();
    const started = performance.now();
    const answers = await Promise.all(Array.from({ length: 10 }, () => a.admit("key-down", { rpm: 3, tpm: null }, 1, now)));
    expect(performance.now() - started).toBeLessThan(1_000);
    // Per proxy: this process's own window of 3 (the request counted in Redis is not known here).
    expect(answers.filter((x) => x.ok)).toHaveLength(3);
    expect((await Promise.all(Array.from({ length: 10 }, () => b.admit("key-down", { rpm: 3, tpm: null }, 1, now)))).filter((x) => x.ok)).toHaveLength(3);
    expect(a.shared).toBe(false);
    expect(a.fallbacks).toBeGreaterThan(0);
    expect(lines.filter((l) => l.startsWith("warning: Redis unreachable"))).toHaveLength(1);
    expect(lines.join("\n")).not.toContain("redis://");

    redis = await startRedisServer({ port });
    for (let i = 0; i < 100 && !a.shared; i++) await new Promise((r) => setTimeout(r, 50));
    expect(a.shared).toBe(true);
    expect(lines.at(-1)).toContain("reachable again");
    expect(await a.admit("key-back", { rpm: 2, tpm: null }, 1, Date.now())).toMatchObject({ ok: true, headers: { "x-ratelimit-remaining-requests": "1" } });
  });
});
