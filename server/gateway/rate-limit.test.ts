import { describe, expect, it } from "vitest";
import { RateLimiter, SlidingWindow } from "./rate-limit";

const T0 = 1_700_000_000_000;

describe("SlidingWindow", () => {
  it("counts the last 60 seconds only", () => {
    const w = new SlidingWindow();
    w.add(T0, 5);
    w.add(T0 + 30_000, 3);
    expect(w.used(T0 + 59_999)).toBe(8);
    expect(w.used(T0 + 60_000)).toBe(3);
    expect(w.used(T0 + 90_000)).toBe(0);
  });

  it("says when there will be room", () => {
    const w = new SlidingWindow();
    w.add(T0, 2);
    w.add(T0 + 10_000, 2);
    expect(w.secondsUntilRoom(T0 + 20_000, 1, 4)).toBe(40);
    expect(w.secondsUntilRoom(T0 + 20_000, 3, 4)).toBe(50);
  });
});

describe("RateLimiter", () => {
  it("admits up to rpm requests a minute, then refuses with Retry-After and OpenAI's headers", () => {
    const r = new RateLimiter();
    for (let i = 0; i < 3; i++) expect(r.admit("k", { rpm: 3, tpm: null }, 10, T0 + i * 1000).ok).toBe(true);
    const refused = r.admit("k", { rpm: 3, tpm: null }, 10, T0 + 5_000);
    expect(refused).toMatchObject({
      ok: false,
      which: "requests",
      retryAfterSeconds: 55,
      headers: { "x-ratelimit-limit-requests": "3", "x-ratelimit-remaining-requests": "0", "x-ratelimit-reset-requests": "55s" },
    });
    expect(r.admit("k", { rpm: 3, tpm: null }, 10, T0 + 60_000).ok).toBe(true);
    expect(r.admit("other", { rpm: 3, tpm: null }, 10, T0 + 5_000).ok).toBe(true);
  });

  it("limits tokens per minute counting actual tokens once known", () => {
    const r = new RateLimiter();
    expect(r.admit("k", { rpm: null, tpm: 100 }, 40, T0).ok).toBe(true);
    r.adjustTokens("k", 50, T0);
    expect(r.admit("k", { rpm: null, tpm: 100 }, 20, T0 + 1000)).toMatchObject({
      ok: false,
      which: "tokens",
      headers: { "x-ratelimit-remaining-tokens": "10" },
    });
    expect(r.admit("k", { rpm: null, tpm: 100 }, 10, T0 + 1000).ok).toBe(true);
  });

  it("lets a prompt larger than the whole budget through on an empty window", () => {
    expect(new RateLimiter().admit("k", { rpm: null, tpm: 100 }, 500, T0).ok).toBe(true);
  });

  it("keys without limits are not tracked", () => {
    expect(new RateLimiter().admit("k", { rpm: null, tpm: null }, 1e9, T0)).toEqual({ ok: true, headers: {} });
  });
});
