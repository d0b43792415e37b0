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

  // Issue #16: "20,50" once reached checkout as $2,050. A comma is a decimal comma or refused, never dropped.
  it.each([
    ["a decimal comma (20,50 is twenty dollars fifty)", "20,50", 20_500_000_000n],
    ["a European price (0,15 is fifteen cents)", "0,15", 150_000_000n],
    ["a decimal comma with three decimals and a leading zero", "0,150", 150_000_000n],
    ["a decimal comma with one decimal", "1,5", 1_500_000_000n],
    ["a decimal comma with four decimals", "12,3456", 12_345_600_000n],
    ["a negative decimal comma", "-2,5", -2_500_000_000n],
    ["thousands with a decimal point", "1,000.50", 1_000_500_000_000n],
    ["several thousands groups", "1,000,000", 1_000_000_000_000_000n],
    ["a dollar sign and a decimal comma", "$7,25", 7_250_000_000n],
  ])("reads %s", (_label, text, nano) => {
    expect(parseUsd(text)).toBe(nano);
  });

  it.each([
    ["a comma after the decimal point", "0.1,5", /not a decimal dollar amount/],
    ["a European thousands point", "1.000,50", /not a decimal dollar amount/],
    ["one comma before exactly three digits (one dollar or a thousand?)", "1,000", /could be 1000 or 1\.000/],
    ["two commas that are not thousands groups", "1,2,3", /not a decimal dollar amount/],
    ["thousands groups of the wrong size", "1,00,000.5", /not a decimal dollar amount/],
    ["a bare comma", ",5", /not a decimal dollar amount/],
    ["spaces inside", "1 000", /not a decimal dollar amount/],
  ])("refuses %s, naming the field", (_label, text, message) => {
    expect(() => parseUsd(text, "amount")).toThrow(DomainError);
    expect(() => parseUsd(text, "amount")).toThrow(message);
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

// Rounding edge cases, labelled: every money bug starts as a failing row here.
describe("rounding: ties to even, fee + provider = cost, zero and maximum values", () => {
  it.each([
    ["max int64 / 1 is itself", INT64_MAX, 1n, INT64_MAX],
    ["max int64 / 2 is a tie (…903.5) and goes to even …904", INT64_MAX, 2n, 4_611_686_018_427_387_904n],
    ["min int64 / 1000 rounds half away only past the tie", -9_223_372_036_854_775_808n, 1000n, -9_223_372_036_854_776n],
    ["-1.5 ties to even -2", -15n, 10n, -2n],
    ["-0.5 ties to even 0", -5n, 10n, 0n],
    ["2.5000…1 is past the tie and rounds up", 2_500_001n, 1_000_000n, 3n],
  ])("divRoundHalfEven: %s", (_label, n, d, q) => {
    expect(divRoundHalfEven(n, d)).toBe(q);
  });

  it.each([
    ["zero tokens at the maximum prices cost nothing", { input: 0, output: 0, cachedInput: 0 }, prices(INT64_MAX, INT64_MAX, INT64_MAX), 0n],
    ["one token at the maximum price", { input: 1, output: 0, cachedInput: 0 }, prices(INT64_MAX, 0n, 0n), 9_223_372_036_854_776n],
    ["large tie 500 000.5 goes to even 500 000", { input: 1_000_001, output: 0, cachedInput: 0 }, prices(500n, 0n, 0n), 500_000n],
    ["large tie 500 001.5 goes to even 500 002", { input: 1_000_003, output: 0, cachedInput: 0 }, prices(500n, 0n, 0n), 500_002n],
    ["cached tokens alone, tie 0.5 → 0", { input: 0, output: 0, cachedInput: 1 }, prices(0n, 0n, 500n), 0n],
    ["output tokens alone, tie 3.5 → 4", { input: 0, output: 7, cachedInput: 0 }, prices(0n, 500n, 0n), 4n],
  ])("usageCostNano: %s", (_label, tokens, p, cost) => {
    expect(usageCostNano(tokens, p)).toBe(cost);
  });

  it.each([
    ["every class at the maximum", { input: INT64_MAX, output: INT64_MAX, cachedInput: INT64_MAX }, prices(INT64_MAX, INT64_MAX, INT64_MAX)],
    ["one past the largest cost", { input: INT64_MAX, output: 0, cachedInput: 0 }, prices(1001n, 0n, 0n)],
  ])("usageCostNano overflows with a RangeError, never wraps: %s", (_label, tokens, p) => {
    expect(() => usageCostNano(tokens, p)).toThrow(RangeError);
  });

  it.each([
    ["1 nano at 50% is a tie: fee 0", 1n, 5_000, 0n, 1n],
    ["3 nano at 50% is a tie: fee 2", 3n, 5_000, 2n, 1n],
    ["31 nano at 5% is 1.55: fee 2", 31n, 500, 2n, 29n],
    ["29 nano at 5% is 1.45: fee 1", 29n, 500, 1n, 28n],
    ["max cost at 50% ties to even", INT64_MAX, 5_000, 4_611_686_018_427_387_904n, 4_611_686_018_427_387_903n],
    ["max cost, all fee", INT64_MAX, 10_000, INT64_MAX, 0n],
    ["max cost, no fee", INT64_MAX, 0, 0n, INT64_MAX],
    ["a refund (negative cost) splits symmetrically", -30n, 500, -2n, -28n],
  ])("splitFee: %s", (_label, cost, bps, fee, provider) => {
    const split = splitFee(cost, bps);
    expect(split).toEqual({ feeNano: fee, providerNano: provider });
    expect(split.feeNano + split.providerNano).toBe(cost);
  });
});
