import { describe, expect, it } from "vitest";
import { STANDARD_CONVERSATION, standardConversationCostNano, standardConversationLatencyMs } from "./standard-conversation";

const prices = (inputPer1kNano: bigint, outputPer1kNano: bigint) => ({ inputPer1kNano, outputPer1kNano, cachedInputPer1kNano: 1_000_000n });

describe("the standard conversation", () => {
  it("is 750 input + 250 output tokens", () => {
    expect(STANDARD_CONVERSATION).toEqual({ inputTokens: 750, outputTokens: 250 });
  });

  it.each([
    // $0.15 / $0.60 per 1M (150 000 / 600 000 nano per 1k): 750·150 000 + 250·600 000 = 262 500 000 → /1000 = 262 500
    ["gpt-4o-mini-like prices", prices(150_000n, 600_000n), 262_500n],
    ["free listing", prices(0n, 0n), 0n],
    // 750·1 + 250·1 = 1000 → 1 nano exactly
    ["one nano per 1k each: exactly 1 nano", prices(1n, 1n), 1n],
    // 750·1 + 250·0 = 750 → 0.75 → 1 (rounds half-even, above half goes up)
    ["0.75 nano rounds up to 1", prices(1n, 0n), 1n],
    // 750·0 + 250·2 = 500 → 0.5 → 0 (tie to even)
    ["a tie rounds to even (0.5 → 0)", prices(0n, 2n), 0n],
    // 250·6 = 1500 → 1.5 → 2 (tie to even)
    ["a tie rounds to even (1.5 → 2)", prices(0n, 6n), 2n],
    ["cached input price plays no part", { inputPer1kNano: 4n, outputPer1kNano: 4n, cachedInputPer1kNano: 999_999n }, 4n],
  ] as const)("costs %s", (_label, p, expected) => {
    expect(standardConversationCostNano(p)).toBe(expected);
  });

  it.each([
    ["300 ms to first token, then 250 tokens at 50 tok/s", 300, 50, 5_300],
    ["fast: 100 ms + 250 at 250 tok/s", 100, 250, 1_100],
    ["no TTFT median (below the minimum sample)", null, 50, null],
    ["no throughput median (below the minimum sample)", 300, null, null],
    ["zero throughput is no figure, not infinity", 300, 0, null],
  ])("latency: %s", (_label, ttft, tps, expected) => {
    expect(standardConversationLatencyMs(ttft, tps)).toBe(expected);
  });
});
