import { divRoundHalfEven, type PricesPer1k, usageCostNano } from "../ledger/money";

/**
 * Cost per useful token (CPUT): what a listing's traffic really costs per token that was worth
 * having. The listed price ignores what failed, was cut off, disconnected or was abandoned by a
 * fallback, yet all of it was billed; CPUT puts all of that over the output of the requests that
 * completed normally. Money is bigint nano-USD; shares are plain ratios (not money).
 */

/**
 * Finish reasons of a normal completion. `unknown` (an upstream that names no reason) counts as
 * normal when the request ended ok: nothing says it was cut off, and counting it useless would
 * make every such upstream look infinitely dear. Its SQL twin is USEFUL_EVENT_SQL (server/rollups/upserts.ts).
 */
export const NORMAL_FINISH_REASONS = ["stop", "tool_calls", "unknown"] as const;

/** Whether an event's output is useful: it ended ok with a normal (or unreported) finish reason. */
export function isUsefulEvent(status: string, finishReason: string | null): boolean {
  return status === "ok" && (finishReason === null || (NORMAL_FINISH_REASONS as readonly string[]).includes(finishReason));
}

/**
 * Fewest requests a CPUT is stated on. Below it one lucky (or unlucky) request would set the
 * figure: at 20, a single failure moves the failed share by 5 points, visible but not decisive.
 */
export const MIN_CPUT_REQUESTS = 20;

/** Useful tokens per quoted unit: CPUT is quoted per 1M useful output tokens, like prices. */
const PER_1M = 1_000_000n;

/** A listing's (or a buyer's) traffic over a window, summed from rollups or raw events. */
export type CputSample = {
  /** Every request billed or not: the sample size shown. */
  requests: number;
  /** Everything billed for those requests, nano-USD. */
  billedNano: bigint;
  /** The part billed for requests that were not useful (failed, cut off, disconnected, abandoned). */
  wastedNano: bigint;
  /** Output tokens of useful requests. */
  usefulOutputTokens: bigint;
  /** The part of billedNano billed for input tokens, cached ones included (inputCostNano per event, summed). */
  inputCostNano: bigint;
};

export type Cput =
  | { state: "insufficient-sample"; requests: number; minimum: number }
  | { state: "no-useful-output"; requests: number; billedNano: bigint }
  | {
      state: "measured";
      requests: number;
      usefulOutputTokens: bigint;
      /** round_half_even(billed · 1e6 / useful output tokens): nano-USD per 1M useful tokens. */
      per1MNano: bigint;
      /** The part of per1MNano paid for requests that were not useful, same rounding. */
      wastedPer1MNano: bigint;
      /** wasted ÷ billed, 0–1 (0 when nothing was billed). */
      failedShare: number;
      /** input cost ÷ billed, 0–1 (0 when nothing was billed): the share of the cost spent on input tokens. */
      inputShare: number;
    };

/**
 * CPUT of a sample: billed ÷ useful output tokens in nano-USD per 1M, rounded half-even to a
 * whole nano-USD. Not stated below MIN_CPUT_REQUESTS requests; "no-useful-output" when requests
 * were billed yet none produced a useful token (the cost per useful token is unbounded).
 */
export function costPerUsefulToken(s: CputSample): Cput {
  if (s.requests < MIN_CPUT_REQUESTS) return { state: "insufficient-sample", requests: s.requests, minimum: MIN_CPUT_REQUESTS };
  if (s.usefulOutputTokens <= 0n) return { state: "no-useful-output", requests: s.requests, billedNano: s.billedNano };
  return {
    state: "measured",
    requests: s.requests,
    usefulOutputTokens: s.usefulOutputTokens,
    per1MNano: divRoundHalfEven(s.billedNano * PER_1M, s.usefulOutputTokens),
    wastedPer1MNano: divRoundHalfEven(s.wastedNano * PER_1M, s.usefulOutputTokens),
    failedShare: s.billedNano === 0n ? 0 : ratio(s.wastedNano, s.billedNano),
    inputShare: s.billedNano === 0n ? 0 : ratio(s.inputCostNano, s.billedNano),
  };
}

/** a ÷ b as a number with 6 significant decimals, computed in bigint so huge sums keep their precision. */
function ratio(a: bigint, b: bigint): number {
  return Number(divRoundHalfEven(a * 1_000_000n, b)) / 1_000_000;
}

/** A listing's nominal price in the same unit as CPUT: its output price per 1M tokens (nano-USD per 1k × 1000, exact). */
export function nominalPer1MNano(outputPer1kNano: bigint): bigint {
  return outputPer1kNano * 1000n;
}

/**
 * The part of an event's cost billed for its input: usageCostNano of its input and cached input tokens alone
 * at the prices it was billed at, round_half_even((input·p_in + cached·p_cached) / 1000) nano-USD, and never
 * more than the event was billed (a capped event's bill can fall short of its input's price). Summed per
 * listing or buyer, over their billed cost it is CPUT's input share. Its SQL twin is tm_input_cost_nano
 * (migration 0033; server/usage/input-cost.int.test.ts proves them equal), which stage 1 (server/usage/ingest.ts)
 * stores on each event when it prices it.
 */
export function inputCostNano(tokens: { input: number | bigint; cachedInput: number | bigint }, prices: PricesPer1k, billedNano: bigint): bigint {
  const input = usageCostNano({ input: tokens.input, output: 0, cachedInput: tokens.cachedInput }, prices);
  return input < billedNano ? input : billedNano;
}
