import { describe, expect, it } from "vitest";
import { DomainError } from "../errors";
import { divRoundHalfEven, formatUsd, INT64_MAX, parseUsd, splitFee, usageCostNano, usdDecimal } from "./money";

describe("divRoundHalfEven", () => {
  it.each([
    ["exact", 10n, 5n, 2n],
    ["below half rounds down", 14n, 10n, 1n],
    ["above half rounds up", 16n, 10n, 2n],
    ["tie to even (down)", 25n, 10n, 2n],
    ["tie to even (up)", 35n, 10n, 4n],
    ["tie at 0.5 goes to 0", 5n, 10n, 0n],
    ["tie at 1.5 goes to 2", 15n, 10n, 2n],
    ["negative tie to even", -25n, 10n, -2n],
    ["negative above half", -26n, 10n, -3n],
    ["zero", 0n, 1000n, 0n],
  ])("%s: %i / %i = %i", (_label, n, d, q) => {
    expect(divRoundHalfEven(n, d)).toBe(q);
  });
  it("refuses a zero divisor", () => expect(() => divRoundHalfEven(1n, 0n)).toThrow(RangeError));
});

const prices = (i: bigint, o: bigint, c: bigint) => ({ inputPer1kNano: i, outputPer1kNano: o, cachedInputPer1kNano: c });

describe("usageCostNano", () => {
  it.each([
    ["nothing used", { input: 0, output: 0, cachedInput: 0 }, prices(140_000n, 280_000n, 14_000n), 0n],
    ["1k input at $0.14/1M", { input: 1000, output: 0, cachedInput: 0 }, prices(140_000n, 0n, 0n), 140_000n],
    ["1 token at 140 000/1k is 140 nano", { input: 1, output: 0, cachedInput: 0 }, prices(140_000n, 0n, 0n), 140n],
    ["tie 0.5 rounds to even 0", { input: 1, output: 0, cachedInput: 0 }, prices(500n, 0n, 0n), 0n],
    ["tie 1.5 rounds to even 2", { input: 3, output: 0, cachedInput: 0 }, prices(500n, 0n, 0n), 2n],
    ["tie 2.5 rounds to even 2", { input: 5, output: 0, cachedInput: 0 }, prices(500n, 0n, 0n), 2n],
    ["all three classes", { input: 1200, output: 350, cachedInput: 800 }, prices(140_000n, 280_000n, 14_000n), 168_000n + 98_000n + 11_200n],
    ["sum then round once", { input: 1, output: 1, cachedInput: 0 }, prices(400n, 400n, 0n), 1n],
  ])("%s", (_label, tokens, p, cost) => {
    expect(usageCostNano(tokens, p)).toBe(cost);
  });

  it("the largest representable cost is fine, one more overflows", () => {
    expect(usageCostNano({ input: INT64_MAX, output: 0, cachedInput: 0 }, prices(1000n, 0n, 0n))).toBe(INT64_MAX);
    expect(() => usageCostNano({ input: INT64_MAX, output: 1, cachedInput: 0 }, prices(1000n, 1000n, 0n))).toThrow(RangeError);
  });
});

describe("splitFee", () => {
  it.each([
    ["zero cost", 0n, 500, 0n],
    ["5% of $1", 1_000_000_000n, 500, 50_000_000n],
    ["tie rounds to even (0.5 → 0)", 10n, 500, 0n],
    ["tie rounds to even (1.5 → 2)", 30n, 500, 2n],
    ["no fee", 12_345n, 0, 0n],
    ["all fee", 12_345n, 10_000, 12_345n],
    ["max int64 cost at 1 bps", INT64_MAX, 1, 922_337_203_685_478n],
  ])("%s", (_label, cost, bps, fee) => {
    const { feeNano, providerNano } = splitFee(cost, bps);
    expect(feeNano).toBe(fee);
    expect(feeNano + providerNano).toBe(cost);
  });
  it("refuses a fee outside 0–10000 bps", () => {
    expect(() => splitFee(1n, 10_001)).toThrow(RangeError);
    expect(() => splitFee(1n, 1.5)).toThrow(RangeError);
  });
});

describe("parseUsd / formatUsd", () => {
  it.each([
    ["whole dollars", "25", 25_000_000_000n],
    ["cents", "0.07", 70_000_000n],
    ["one nano", "0.000000001", 1n],
    ["dollar sign and commas", "$1,000.50", 1_000_500_000_000n],
    ["negative", "-1.5", -1_500_000_000n],
    ["zero", "0", 0n],
    ["largest", "9223372036.854775807", INT64_MAX],
  ])("parses %s", (_label, text, nano) => {
    expect(parseUsd(text)).toBe(nano);
  });

  it.each([
    ["ten decimals", "0.0000000001"],
    ["exponent", "1e3"],
    ["word", "ten"],
    ["empty", ""],
    ["too large", "9223372036.854775808"],
  ])("refuses %s", (_label, text) => {
    expect(() => parseUsd(text, "price")).toThrow(DomainError);
    expect(() => parseUsd(text, "price")).toThrow(/price/);
  });

  it.each([
    [1_500_000_000n, "$1.50"],
    [140_000n, "$0.00014"],
    [1n, "$0.000000001"],
    [0n, "$0.00"],
    [-70_000_000n, "-$0.07"],
    [1_234_567_000_000_000n, "$1,234,567.00"],
  ])("formats %i as %s", (nano, text) => {
    expect(formatUsd(nano)).toBe(text);
    expect(parseUsd(text)).toBe(nano);
  });

  it("usdDecimal is plain", () => {
    expect(usdDecimal(1_234_567_500_000_000n)).toBe("1234567.5");
    expect(usdDecimal(0n)).toBe("0");
  });
});
