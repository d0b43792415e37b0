import { describe, expect, it } from "vitest";
import { DomainError } from "../errors";
import {
  BLEND,
  blendedPer1MNano,
  checkPriceMaximum,
  formatPricePer1k,
  formatPricePer1M,
  parsePricePer1kNano,
  pricePer1MDecimal,
  type PriceUnit,
} from "./pricing";

describe("parsePricePer1kNano: decimal dollars to exact nano-USD per 1k", () => {
  it.each<[string, string, PriceUnit, bigint]>([
    ["$0.14 per 1M", "0.14", "1M", 140_000n],
    ["$0.01875 per 1M", "0.01875", "1M", 18_750n],
    ["$0.000001 per 1M is 1 nano per 1k (the smallest step)", "0.000001", "1M", 1n],
    ["$2.50 per 1M", "2.50", "1M", 2_500_000n],
    ["$60 per 1M", "60", "1M", 60_000_000n],
    ["with a dollar sign and thousands separator", "$1,000.00", "1M", 1_000_000_000n],
    ["a European decimal comma per 1M (0,15 is fifteen cents, not $15)", "0,15", "1M", 150_000n],
    ["a decimal comma per 1k", "0,002", "1k", 2_000_000n],
    ["trailing zeros beyond 6 decimals are still exact", "0.140000000", "1M", 140_000n],
    ["zero is a price (free model)", "0", "1M", 0n],
    ["$0.00014 per 1k", "0.00014", "1k", 140_000n],
    ["$0.000000001 per 1k (one nano)", "0.000000001", "1k", 1n],
    ["$0.002 per 1k", "0.002", "1k", 2_000_000n],
    ["surrounding spaces", "  0.5 ", "1k", 500_000_000n],
  ])("%s", (_label, text, unit, nano) => {
    expect(parsePricePer1kNano(text, unit, "inputPrice")).toBe(nano);
  });

  it.each<[string, string, PriceUnit, RegExp]>([
    ["7 decimals per 1M cannot be stored exactly", "0.0000001", "1M", /at most 6 decimals/],
    ["$0.0000015 per 1M is half a nano per 1k", "0.0000015", "1M", /cannot be stored exactly/],
    ["10 decimals per 1k", "0.0000000001", "1k", /at most 9 decimals/],
    ["negative", "-0.14", "1M", /negative/],
    ["empty", "", "1M", /enter a price/],
    ["not a number", "cheap", "1M", /not a decimal dollar amount/],
    ["exponent notation", "1e-6", "1M", /not a decimal dollar amount/],
    ["a comma after the decimal point (0.1,5 was saved as $0.15)", "0.1,5", "1M", /not a decimal dollar amount/],
    ["an ambiguous comma", "1,000", "1M", /could be 1000 or 1\.000/],
    ["a negative decimal comma", "-0,14", "1M", /negative/],
    ["too large for a bigint", "99999999999999999999", "1k", /too large/],
  ])("refuses %s", (_label, text, unit, message) => {
    let err: unknown;
    try {
      parsePricePer1kNano(text, unit, "outputPrice");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DomainError);
    expect((err as DomainError).field).toBe("outputPrice");
    expect((err as DomainError).message).toMatch(/^outputPrice: /);
    expect((err as DomainError).message).toMatch(message);
  });
});

describe("formatting", () => {
  it.each([
    ["$0.14/1M", 140_000n, "$0.00014", "$0.14", "0.14"],
    ["$0.01875/1M", 18_750n, "$0.00001875", "$0.01875", "0.01875"],
    ["one nano per 1k", 1n, "$0.000000001", "$0.000001", "0.000001"],
    ["$15/1M", 15_000_000n, "$0.015", "$15.00", "15"],
    ["free", 0n, "$0.00", "$0.00", "0"],
  ])("%s", (_label, nano, per1k, per1M, decimal1M) => {
    expect(formatPricePer1k(nano)).toBe(per1k);
    expect(formatPricePer1M(nano)).toBe(per1M);
    expect(pricePer1MDecimal(nano)).toBe(decimal1M);
  });

  it("round-trips: parse(format per 1M) is the stored value", () => {
    for (const nano of [0n, 1n, 7n, 18_750n, 140_000n, 123_456_789n]) {
      expect(parsePricePer1kNano(pricePer1MDecimal(nano), "1M", "p")).toBe(nano);
    }
  });
});

describe("blendedPer1MNano: 3 input to 1 output, per 1M", () => {
  it.each([
    ["$0.14 in, $0.28 out → $0.175/1M", 140_000n, 280_000n, 175_000_000n],
    ["equal prices blend to the same price", 100_000n, 100_000n, 100_000_000n],
    ["odd nanos stay exact", 1n, 2n, 1_250n],
    ["free", 0n, 0n, 0n],
  ])("%s", (_label, inputPer1kNano, outputPer1kNano, blended) => {
    expect(blendedPer1MNano({ inputPer1kNano, outputPer1kNano })).toBe(blended);
  });

  it("BLEND's scale turns per-1k into per-1M blended tokens exactly: 250 × (3 + 1) = 1000", () => {
    expect(BLEND.per1kTo1M * (BLEND.input + BLEND.output)).toBe(1000n);
  });
});

describe("checkPriceMaximum: $1 000 per 1k tokens at most", () => {
  const rows: [string, bigint, PriceUnit, string | null][] = [
    ["exactly the maximum", 1_000_000_000_000n, "1k", null],
    ["one nano past it, per 1k", 1_000_000_000_001n, "1k", "prices.output: a price can be at most $1,000.00 per 1k tokens"],
    ["a 64-bit price, per 1M", 9_000_000_000_000_000_000n, "1M", "prices.output: a price can be at most $1,000,000.00 per 1M tokens"],
    ["zero", 0n, "1M", null],
  ];
  it.each(rows)("%s", (_label, per1k, unit, message) => {
    if (message === null) expect(checkPriceMaximum(per1k, unit, "prices.output")).toBe(per1k);
    else expect(() => checkPriceMaximum(per1k, unit, "prices.output")).toThrow(message);
  });
});
