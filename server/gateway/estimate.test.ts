import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { usageCostNano } from "../ledger/money";
import { affordableOutputTokens, billableUsage, defaultMaxTokens, worstCaseNano } from "./estimate";

// $0.05 / $0.08 / $0.025 per 1M tokens = 50 000 / 80 000 / 25 000 nano-USD per 1k.
const prices = { inputPer1kNano: 50_000n, outputPer1kNano: 80_000n, cachedInputPer1kNano: 25_000n };

describe("worstCaseNano", () => {
  const cheap = { ...prices, inputPer1kNano: 50n, cachedInputPer1kNano: 25n };
  const dearCache = { ...prices, cachedInputPer1kNano: 70_000n };
  it.each([
    ["nothing", prices, 0, 0, 0n],
    ["1k prompt, 1k output", prices, 1000, 1000, 130_000n],
    ["one prompt token: 50 nano", prices, 1, 0, 50n],
    ["7 tokens at 50 nano per 1k = 0.35 nano, rounded up to 1", cheap, 7, 0, 1n],
    ["a cached-input price above the input price is the one held", dearCache, 1000, 0, 70_000n],
  ])("%s", (_label, p, prompt, max, expected) => {
    expect(worstCaseNano(prompt, max, p)).toBe(expected);
  });

  it("is never below what usageCostNano charges for the same or fewer tokens", () => {
    for (const [prompt, out] of [
      [3, 5],
      [999, 1],
      [12345, 678],
      [1, 1],
    ] as const) {
      const odd = { inputPer1kNano: 333n, outputPer1kNano: 777n, cachedInputPer1kNano: 111n };
      expect(worstCaseNano(prompt, out, odd)).toBeGreaterThanOrEqual(usageCostNano({ input: prompt, output: out, cachedInput: 0 }, odd));
    }
  });
});

describe("affordableOutputTokens", () => {
  it.each([
    ["$0.0001 after a 1k prompt", 100_000n, 1000, 625],
    ["exactly the prompt: nothing left", 50_000n, 1000, 0],
    ["less than the prompt: 0, never negative", 10n, 1000, 0],
  ])("%s", (_label, available, prompt, expected) => {
    expect(affordableOutputTokens(available, prompt, prices)).toBe(expected);
  });

  it("is unbounded (null) when output is free", () => {
    expect(affordableOutputTokens(1n, 0, { ...prices, outputPer1kNano: 0n })).toBeNull();
  });

  it("what it returns is affordable and one more is not", () => {
    const n = affordableOutputTokens(123_456n, 17, prices)!;
    expect(worstCaseNano(17, n, prices)).toBeLessThanOrEqual(123_456n);
    expect(worstCaseNano(17, n + 1, prices)).toBeGreaterThan(123_456n);
  });
});

describe("defaultMaxTokens", () => {
  it.each([
    ["the cap when the context is large", 131_072, 100, 4096, 4096],
    ["what the context leaves", 8192, 6000, 4096, 2192],
    ["at least 1 when the prompt fills the context", 8192, 9000, 4096, 1],
  ])("%s", (_label, context, prompt, cap, expected) => {
    expect(defaultMaxTokens(context, prompt, cap)).toBe(expected);
  });
});

describe("billableUsage", () => {
  const bounds = { promptTokens: 1000, outputTokens: 64, contextLength: 8192 };
  const hold = worstCaseNano(bounds.promptTokens, bounds.outputTokens, prices);
  it.each([
    [
      "a plausible report within the hold is billed as is",
      { promptTokens: 900, completionTokens: 60, cachedTokens: 100 },
      { promptTokens: 900, completionTokens: 60, cachedTokens: 100 },
      null,
    ],
    [
      "output past max_tokens × n is clamped to it",
      { promptTokens: 10, completionTokens: 65, cachedTokens: 0 },
      { promptTokens: 10, completionTokens: 64, cachedTokens: 0 },
      "exceed max_tokens × n = 64",
    ],
    [
      "a prompt past the context length is clamped to the estimate",
      { promptTokens: 9000, completionTokens: 1, cachedTokens: 9000 },
      { promptTokens: 1000, completionTokens: 1, cachedTokens: 1000 },
      "exceed the context length 8192",
    ],
    [
      "within bounds but dearer than the hold: clamped",
      { promptTokens: 8000, completionTokens: 64, cachedTokens: 0 },
      { promptTokens: 1000, completionTokens: 64, cachedTokens: 0 },
      "more than the",
    ],
  ])("%s", (_label, reported, billed, anomaly) => {
    const r = billableUsage(reported, bounds, prices, hold);
    expect(r.billed).toEqual(billed);
    if (anomaly === null) expect(r.anomaly).toBeNull();
    else expect(r.anomaly).toContain(anomaly);
  });

  it("never bills more than a hold sized for the bounds at the dearest prices, whatever is reported", () => {
    const count = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
    const price = fc.bigInt({ min: 0n, max: 100_000_000n });
    fc.assert(
      fc.property(
        count,
        count,
        count,
        fc.integer({ min: 0, max: 200_000 }),
        fc.integer({ min: 0, max: 200_000 }),
        price,
        price,
        price,
        (p, c, k, promptEst, out, pin, pout, pcache) => {
          const ps = { inputPer1kNano: pin, outputPer1kNano: pout, cachedInputPer1kNano: pcache };
          const b = { promptTokens: promptEst, outputTokens: out, contextLength: 131_072 };
          const holdNano = worstCaseNano(promptEst, out, ps);
          const r = billableUsage({ promptTokens: p, completionTokens: c, cachedTokens: Math.min(k, p) }, b, ps, holdNano);
          expect(r.costNano).toBeLessThanOrEqual(holdNano);
          expect(r.billed.cachedTokens).toBeLessThanOrEqual(r.billed.promptTokens);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
