import type { PricesPer1k } from "../ledger/money";
import { blendedPer1MNano } from "./pricing";

/**
 * One honest price per listing to compare and sort by, per 1M tokens. A chat or completion
 * model is quoted at the industry's 3:1 blend (3 input tokens to 1 output token); an
 * embeddings model produces no output tokens, so a blend would understate it by a quarter
 * ("$0.015 per 1M" for tokens that all cost $0.02): it is quoted at its input price. The
 * two bases do not compare with each other, so the price sort ranks blended listings first,
 * then input-priced ones. The SQL twin is in ./comparable-sql.ts, tested to agree.
 */

/** "blend" for anything that generates tokens, "input" for a listing that only embeds. */
export type PriceBasis = "blend" | "input";

export function priceBasis(modalities: readonly string[]): PriceBasis {
  return modalities.includes("chat") || modalities.includes("completion") ? "blend" : "input";
}

/** The comparable price in nano-USD per 1M tokens, exact: input·1000 or (3·in + out)·250. */
export function comparablePer1MNano(prices: Pick<PricesPer1k, "inputPer1kNano" | "outputPer1kNano">, modalities: readonly string[]): bigint {
  return priceBasis(modalities) === "input" ? prices.inputPer1kNano * 1000n : blendedPer1MNano(prices);
}

/** Tokens one dollar buys at a comparable price per 1M: 1e15 / price. Null for a free listing (unbounded). */
export function tokensPerDollar(comparablePer1MNano: bigint): number | null {
  return comparablePer1MNano <= 0n ? null : 1e15 / Number(comparablePer1MNano);
}
