import { DomainError } from "../errors";
import { checkInt64, formatUsd, normaliseDecimal, parseUsd, type PricesPer1k } from "../ledger/money";

/**
 * Listing prices are stored as integer nano-USD per 1k tokens. Providers type
 * them as decimal dollars per 1M or per 1k tokens; these functions convert
 * both ways exactly, never through a float.
 */

export type PriceUnit = "1M" | "1k";

/** Decimals a price can have and still be a whole number of nano-USD per 1k tokens. */
const MAX_DECIMALS: Record<PriceUnit, number> = { "1k": 9, "1M": 6 };
const DECIMAL_PART = /\.(\d+)$/;

/**
 * Parses a decimal dollar price per `unit` tokens into nano-USD per 1k tokens, exactly:
 * "0.14" per 1M → 140 000n. Throws DomainError(INVALID_INPUT, field) for anything that is
 * not a plain non-negative decimal or that would need a fraction of a nano-USD per 1k.
 * Commas follow `normaliseDecimal`: "0,15" is $0.15, "0.1,5" is refused.
 */
export function parsePricePer1kNano(text: string, unit: PriceUnit, field: string): bigint {
  if (text.trim() === "") throw new DomainError("INVALID_INPUT", `${field}: enter a price in dollars per ${unit} tokens`, field);
  const cleaned = normaliseDecimal(text, field);
  if (cleaned.startsWith("-")) throw new DomainError("INVALID_INPUT", `${field}: a price cannot be negative`, field);
  // Drop trailing zeros first: "0.140000000000" is as exact as "0.14".
  const normalised = cleaned.includes(".") ? cleaned.replace(/0+$/, "").replace(/\.$/, "") : cleaned;
  const decimals = DECIMAL_PART.exec(normalised)?.[1]?.length ?? 0;
  if (decimals > MAX_DECIMALS[unit]) {
    const step = unit === "1M" ? "$0.000001 per 1M" : "$0.000000001 per 1k";
    throw new DomainError(
      "INVALID_INPUT",
      `${field}: "${text}" per ${unit} tokens cannot be stored exactly; use at most ${MAX_DECIMALS[unit]} decimals (the smallest step is ${step})`,
      field,
    );
  }
  const nano = parseUsd(normalised, field);
  const per1k = unit === "1k" ? nano : nano / 1000n;
  try {
    return checkInt64(per1k);
  } catch {
    throw new DomainError("INVALID_INPUT", `${field}: "${text}" is too large`, field);
  }
}

/**
 * The most a listing may charge per 1k tokens of any class: $1 000 ($1 000 000 per 1M),
 * far above any model sold today, and low enough that a request's cost stays in range.
 */
export const MAX_PRICE_PER_1K_NANO = 1_000n * 1_000_000_000n;

/** Returns the price when it is at most MAX_PRICE_PER_1K_NANO; throws DomainError(INVALID_INPUT, field) naming the maximum in `unit`. */
export function checkPriceMaximum(per1kNano: bigint, unit: PriceUnit, field: string): bigint {
  if (per1kNano <= MAX_PRICE_PER_1K_NANO) return per1kNano;
  const max = unit === "1M" ? formatPricePer1M(MAX_PRICE_PER_1K_NANO) : formatPricePer1k(MAX_PRICE_PER_1K_NANO);
  throw new DomainError("INVALID_INPUT", `${field}: a price can be at most ${max} per ${unit} tokens`, field);
}

/** Nano-USD per 1k tokens as dollars per 1k tokens: 140 000n → "$0.00014". */
export function formatPricePer1k(per1kNano: bigint): string {
  return formatUsd(per1kNano);
}

/** Nano-USD per 1k tokens as dollars per 1M tokens: 140 000n → "$0.14". Exact (×1000). */
export function formatPricePer1M(per1kNano: bigint): string {
  return formatUsd(per1kNano * 1000n);
}

/** Plain decimal dollars per 1M tokens, for form fields: 18 750n → "0.01875". */
export function pricePer1MDecimal(per1kNano: bigint): string {
  return formatUsd(per1kNano * 1000n, { minDecimals: 0, symbol: false });
}

/**
 * The blend the industry quotes: 3 input tokens to 1 output token. The one definition; the SQL
 * twin (./comparable-sql.ts) is written from these same numbers. `per1kTo1M` turns the weighted
 * sum of per-1k prices into a price per 1M blended tokens: 1000 / (3 + 1) = 250, exact.
 */
export const BLEND = { input: 3n, output: 1n, per1kTo1M: 250n } as const;

/** The blended price in nano-USD per 1M tokens: (3·in + out)/4 per 1k × 1000 = (3·in + out)·250. Always exact. */
export function blendedPer1MNano(prices: Pick<PricesPer1k, "inputPer1kNano" | "outputPer1kNano">): bigint {
  return (BLEND.input * prices.inputPer1kNano + BLEND.output * prices.outputPer1kNano) * BLEND.per1kTo1M;
}
