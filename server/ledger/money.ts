import { DomainError } from "../errors";

/**
 * Money is an integer count of nano-USD (1e-9 USD) in `bigint`. These are the
 * only functions that turn it into text and back, divide it, or price usage.
 */

export const NANO_PER_USD = 1_000_000_000n;
export const NANO_PER_CENT = 10_000_000n;
/** Postgres `bigint` bounds: every stored amount must fit. */
export const INT64_MAX = 9_223_372_036_854_775_807n;
export const INT64_MIN = -9_223_372_036_854_775_808n;

/** Throws a RangeError when `v` does not fit a Postgres bigint; never wraps. */
export function checkInt64(v: bigint, what = "amount"): bigint {
  if (v > INT64_MAX || v < INT64_MIN) throw new RangeError(`${what} overflows a 64-bit integer: ${v}`);
  return v;
}

/**
 * n / d rounded to the nearest integer, ties to even (banker's rounding).
 * d must be positive; n may be negative (rounding is symmetric around zero).
 */
export function divRoundHalfEven(n: bigint, d: bigint): bigint {
  if (d <= 0n) throw new RangeError("divisor must be positive");
  const q = n / d; // truncates toward zero
  const r = n % d; // same sign as n
  const twice = (r < 0n ? -r : r) * 2n;
  if (twice < d) return q;
  const away = n < 0n ? q - 1n : q + 1n;
  if (twice > d) return away;
  return q % 2n === 0n ? q : away;
}

export type TokenCounts = { input: bigint | number; output: bigint | number; cachedInput: bigint | number };
export type PricesPer1k = { inputPer1kNano: bigint; outputPer1kNano: bigint; cachedInputPer1kNano: bigint };

/**
 * Cost of a usage event in nano-USD: round_half_even((in·p_in + out·p_out + cached·p_cached) / 1000),
 * prices in nano-USD per 1k tokens. Throws RangeError if the result overflows int64.
 * `input` counts uncached prompt tokens; `cachedInput` the cached ones, priced separately.
 */
export function usageCostNano(tokens: TokenCounts, prices: PricesPer1k): bigint {
  const n =
    BigInt(tokens.input) * prices.inputPer1kNano + BigInt(tokens.output) * prices.outputPer1kNano + BigInt(tokens.cachedInput) * prices.cachedInputPer1kNano;
  return checkInt64(divRoundHalfEven(n, 1000n), "usage cost");
}

/**
 * Splits a cost into the platform fee and the provider's share:
 * fee = round_half_even(cost · bps / 10 000), provider = cost − fee, so they always sum to cost.
 */
export function splitFee(costNano: bigint, feeBps: number): { feeNano: bigint; providerNano: bigint } {
  if (!Number.isInteger(feeBps) || feeBps < 0 || feeBps > 10_000) throw new RangeError("fee must be 0–10000 basis points");
  const feeNano = divRoundHalfEven(costNano * BigInt(feeBps), 10_000n);
  return { feeNano, providerNano: costNano - feeNano };
}

const PLAIN_DECIMAL = /^\d+(?:\.\d+)?$/;
/** "1,000.50", "12,345,678": comma-grouped thousands (groups of exactly three, no leading zero). */
const GROUPED_THOUSANDS = /^[1-9]\d{0,2}(?:,\d{3})+(?:\.\d+)?$/;
const DECIMAL_COMMA = /^\d+,\d+$/;

/**
 * The one rule for separators in typed amounts; returns a plain decimal ("20.50") or throws
 * DomainError(INVALID_INPUT, field). A point is always the decimal point. Commas are thousands
 * separators only beside a decimal point or when there are several ("1,000.50", "1,000,000").
 * A single comma otherwise is the user's decimal comma ("20,50" → 20.50, "0,15" → 0.15) unless
 * it could be either ("1,000": one dollar or a thousand?), which is refused, as is any other mix
 * ("0.1,5", "1.000,50"). A comma is never dropped silently.
 */
export function normaliseDecimal(text: string, field: string): string {
  const trimmed = text.trim().replace(/^(-?)\$/, "$1");
  const sign = trimmed.startsWith("-") ? "-" : "";
  const body = trimmed.slice(sign.length);
  if (PLAIN_DECIMAL.test(body)) return sign + body;
  if (GROUPED_THOUSANDS.test(body)) {
    if (body.includes(".") || body.indexOf(",") !== body.lastIndexOf(",")) return sign + body.replace(/,/g, "");
    const [whole, part] = body.split(",");
    throw new DomainError(
      "INVALID_INPUT",
      `${field}: "${text}" could be ${whole}${part} or ${whole}.${part}; type ${whole}${part} or ${whole}.${part} without the comma`,
      field,
    );
  }
  if (DECIMAL_COMMA.test(body)) return sign + body.replace(",", ".");
  throw new DomainError("INVALID_INPUT", `${field}: "${text}" is not a decimal dollar amount; type digits with one decimal point or comma, e.g. 20.50`, field);
}

/**
 * Parses a decimal dollar string into nano-USD exactly, separators by `normaliseDecimal`
 * ("12.5", "12,5", "$1,000.25"). Refuses more than 9 decimals and exponents. Never uses floats.
 */
export function parseUsd(text: string, field = "amount"): bigint {
  const plain = normaliseDecimal(text, field);
  const negative = plain.startsWith("-");
  const [whole, frac = ""] = (negative ? plain.slice(1) : plain).split(".");
  if (frac.length > 9) {
    throw new DomainError("INVALID_INPUT", `${field}: "${text}" has more than 9 decimals (the smallest unit is $0.000000001)`, field);
  }
  const nano = BigInt(whole!) * NANO_PER_USD + BigInt(frac.padEnd(9, "0"));
  try {
    return checkInt64(negative ? -nano : nano);
  } catch {
    throw new DomainError("INVALID_INPUT", `${field}: "${text}" is too large`, field);
  }
}

/**
 * Formats nano-USD as a dollar string with at least `minDecimals` (default 2) and as many
 * more as the value needs, exactly: 1_500_000_000n → "$1.50", 140_000n → "$0.00014".
 */
export function formatUsd(nano: bigint, opts: { minDecimals?: number; symbol?: boolean } = {}): string {
  const { minDecimals = 2, symbol = true } = opts;
  const neg = nano < 0n;
  const abs = neg ? -nano : nano;
  const whole = abs / NANO_PER_USD;
  let frac = (abs % NANO_PER_USD).toString().padStart(9, "0").replace(/0+$/, "");
  if (frac.length < minDecimals) frac = frac.padEnd(minDecimals, "0");
  const wholeText = whole.toString().replace(/\B(?=(\d{3})+(?!\d))/g, symbol ? "," : "");
  return `${neg ? "-" : ""}${symbol ? "$" : ""}${wholeText}${frac ? `.${frac}` : ""}`;
}

/** Plain decimal text for machines (CSV, APIs): no symbol, no separators, as many decimals as needed. */
export function usdDecimal(nano: bigint): string {
  return formatUsd(nano, { minDecimals: 0, symbol: false });
}
