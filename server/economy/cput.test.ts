import { describe, expect, it } from "vitest";
import { costPerUsefulToken, isUsefulEvent, MIN_CPUT_REQUESTS, nominalPer1MNano, type CputSample } from "./cput";

const sample = (s: Partial<CputSample>): CputSample => ({
  requests: 100,
  billedNano: 0n,
  wastedNano: 0n,
  usefulOutputTokens: 0n,
  inputTokens: 0n,
  outputTokens: 0n,
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
    [
      "no failures, output only: CPUT is the output price",
      sample({ billedNano: 600_000n, usefulOutputTokens: 1_000n, outputTokens: 1_000n }),
      600_000_000n,
      0n,
      0,
      0,
    ],
    [
      "one in four failed at equal cost: a third more per useful token",
      sample({ billedNano: 800n, wastedNano: 200n, usefulOutputTokens: 1_000n, outputTokens: 1_000n }),
      800_000n,
      200_000n,
      0.25,
      0,
    ],
    [
      "input-heavy: 3 input tokens per output token",
      sample({ billedNano: 1_000n, usefulOutputTokens: 250n, inputTokens: 750n, outputTokens: 250n }),
      4_000_000n,
      0n,
      0,
      0.75,
    ],
    ["rounds half to even, down (2.5 → 2)", sample({ billedNano: 5n, usefulOutputTokens: 2_000_000n, outputTokens: 2_000_000n }), 2n, 0n, 0, 0],
    ["rounds half to even, up (3.5 → 4)", sample({ billedNano: 7n, usefulOutputTokens: 2_000_000n, outputTokens: 2_000_000n }), 4n, 0n, 0, 0],
    ["nothing billed (free listing): CPUT 0", sample({ usefulOutputTokens: 10n, outputTokens: 10n }), 0n, 0n, 0, 0],
    [
      "sums past 2^53 stay exact",
      sample({ billedNano: 9_007_199_254_740_993n, usefulOutputTokens: 1_000_000n, outputTokens: 1_000_000n }),
      9_007_199_254_740_993n,
      0n,
      0,
      0,
    ],
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
    expect(costPerUsefulToken(sample({ billedNano: 5_000n, wastedNano: 5_000n, outputTokens: 300n }))).toEqual({
      state: "no-useful-output",
      requests: 100,
      billedNano: 5_000n,
    });
  });

  it("nominal price per 1M is the output price per 1k × 1000, exact", () => {
    expect(nominalPer1MNano(600n)).toBe(600_000n);
  });
});
