import { describe, expect, it } from "vitest";
import { costPerUsefulToken, inputCostNano, isUsefulEvent, MIN_CPUT_REQUESTS, nominalPer1MNano, type CputSample } from "./cput";

const sample = (s: Partial<CputSample>): CputSample => ({
  requests: 100,
  billedNano: 0n,
  wastedNano: 0n,
  usefulOutputTokens: 0n,
  inputCostNano: 0n,
  ...s,
});

describe("isUsefulEvent: ok with a normal finish", () => {
  it.each([
    ["ok, stop", "ok", "stop", true],
    ["ok, tool calls", "ok", "tool_calls", true],
    ["ok, reason not reported (older events)", "ok", null, true],
    ["ok, upstream said unknown", "ok", "unknown", true],
    ["ok but cut off at max_tokens", "ok", "length", false],
    ["ok but filtered", "ok", "content_filter", false],
    ["error", "error", "error", false],
    ["client disconnected", "aborted", "aborted", false],
    ["error even with stop", "error", "stop", false],
  ])("%s", (_label, status, reason, expected) => {
    expect(isUsefulEvent(status, reason)).toBe(expected);
  });
});

describe("costPerUsefulToken", () => {
  it.each([
    // label, sample, per1MNano, wastedPer1MNano, failedShare, inputShare
    ["no failures, output only: CPUT is the output price", sample({ billedNano: 600_000n, usefulOutputTokens: 1_000n }), 600_000_000n, 0n, 0, 0],
    [
      "one in four failed at equal cost: a third more per useful token",
      sample({ billedNano: 800n, wastedNano: 200n, usefulOutputTokens: 1_000n }),
      800_000n,
      200_000n,
      0.25,
      0,
    ],
    [
      "input-heavy: three quarters of the cost spent on input",
      sample({ billedNano: 1_000n, usefulOutputTokens: 250n, inputCostNano: 750n }),
      4_000_000n,
      0n,
      0,
      0.75,
    ],
    [
      "input share is of cost, not tokens: 3 input tokens per output token at a quarter of the output price = 3/7",
      sample({ billedNano: 7_000n, usefulOutputTokens: 1_000n, inputCostNano: 3_000n }),
      7_000_000n,
      0n,
      0,
      0.428571,
    ],
    [
      "input share rounds half to even at 6 decimals (1/8 000 000 = 0.000000125 → 0)",
      sample({ billedNano: 8_000_000n, usefulOutputTokens: 1n, inputCostNano: 1n }),
      8_000_000_000_000n,
      0n,
      0,
      0,
    ],
    ["every nano billed for input: share 1", sample({ billedNano: 500n, usefulOutputTokens: 1n, inputCostNano: 500n }), 500_000_000n, 0n, 0, 1],
    ["rounds half to even, down (2.5 → 2)", sample({ billedNano: 5n, usefulOutputTokens: 2_000_000n }), 2n, 0n, 0, 0],
    ["rounds half to even, up (3.5 → 4)", sample({ billedNano: 7n, usefulOutputTokens: 2_000_000n }), 4n, 0n, 0, 0],
    ["nothing billed (free listing): CPUT 0", sample({ usefulOutputTokens: 10n }), 0n, 0n, 0, 0],
    ["sums past 2^53 stay exact", sample({ billedNano: 9_007_199_254_740_993n, usefulOutputTokens: 1_000_000n }), 9_007_199_254_740_993n, 0n, 0, 0],
  ] as const)("%s", (_label, s, per1M, wasted, failedShare, inputShare) => {
    const c = costPerUsefulToken(s);
    expect(c.state).toBe("measured");
    if (c.state !== "measured") return;
    expect(c.per1MNano).toBe(per1M);
    expect(c.wastedPer1MNano).toBe(wasted);
    expect(c.failedShare).toBe(failedShare);
    expect(c.inputShare).toBe(inputShare);
    expect(c.requests).toBe(s.requests);
  });

  it.each([
    ["no requests at all", 0],
    ["one short of the minimum", MIN_CPUT_REQUESTS - 1],
  ])("below the minimum sample it is not stated: %s", (_label, requests) => {
    expect(costPerUsefulToken(sample({ requests, billedNano: 1_000n, usefulOutputTokens: 1_000n }))).toEqual({
      state: "insufficient-sample",
      requests,
      minimum: MIN_CPUT_REQUESTS,
    });
  });

  it("exactly the minimum sample is stated", () => {
    expect(costPerUsefulToken(sample({ requests: MIN_CPUT_REQUESTS, billedNano: 1n, usefulOutputTokens: 1n })).state).toBe("measured");
  });

  it("zero useful tokens with billed failures: no useful output, never a division by zero", () => {
    expect(costPerUsefulToken(sample({ billedNano: 5_000n, wastedNano: 5_000n }))).toEqual({
      state: "no-useful-output",
      requests: 100,
      billedNano: 5_000n,
    });
  });

  it("nothing billed: input share 0, not a division by zero", () => {
    const c = costPerUsefulToken(sample({ usefulOutputTokens: 10n }));
    expect(c.state === "measured" && c.inputShare).toBe(0);
  });

  it("nominal price per 1M is the output price per 1k × 1000, exact", () => {
    expect(nominalPer1MNano(600n)).toBe(600_000n);
  });
});

describe("inputCostNano: the part of an event's cost billed for input", () => {
  const prices = { inputPer1kNano: 100_000n, outputPer1kNano: 300_000n, cachedInputPer1kNano: 25_000n };
  it.each([
    // label, input, cached input, billed, expected
    ["input tokens at the input price: 750 × 100 000 / 1000", 750, 0, 1_000_000n, 75_000n],
    ["cached input at its own (lower) price, as billed", 0, 1_000, 1_000_000n, 25_000n],
    ["both: (10·100 000 + 20·25 000) / 1000", 10, 20, 1_000_000n, 1_500n],
    ["no input: 0", 0, 0, 5_000n, 0n],
    ["rounds half to even, down: 5 × 100 / 1000 = 0.5 → 0", 5, 0, 10n, 0n],
    ["rounds half to even, up: 15 × 100 / 1000 = 1.5 → 2", 15, 0, 10n, 2n],
    ["a capped event: never more than was billed", 750, 0, 40_000n, 40_000n],
    ["billed nothing (capped to 0): 0", 750, 0, 0n, 0n],
  ] as const)("%s", (label, input, cachedInput, billed, expected) => {
    const p = label.startsWith("rounds") ? { ...prices, inputPer1kNano: 100n } : prices;
    expect(inputCostNano({ input, cachedInput }, p, billed)).toBe(expected);
  });
});
