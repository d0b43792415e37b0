import { type PricesPer1k, usageCostNano } from "../ledger/money";

/**
 * The standard 1k-token conversation, the industry's emerging headline figure: one exchange of
 * 750 input and 250 output tokens (a question with its context, and a short answer). The one
 * definition of its shape; the marketplace's SQL sort reads these same numbers.
 */
export const STANDARD_CONVERSATION = { inputTokens: 750, outputTokens: 250 } as const;

/**
 * Its cost at `prices` (the listing's price in force, server/catalog/price-in-force.ts):
 * usageCostNano of 750 input + 250 output tokens, so round_half_even((750·p_in + 250·p_out) / 1000)
 * nano-USD, the same rule settlement bills by. No cached input: a conversation's first turn.
 */
export function standardConversationCostNano(prices: PricesPer1k): bigint {
  return usageCostNano({ input: STANDARD_CONVERSATION.inputTokens, output: STANDARD_CONVERSATION.outputTokens, cachedInput: 0 }, prices);
}

/**
 * Its measured latency in ms: median time to first token + 250 tokens at the median measured
 * output throughput (tokens/s) = ttft + 250 / tps · 1000. Null when either median is missing
 * (both are already null below their minimum sample, server/catalog/sample.ts) or tps is not positive.
 */
export function standardConversationLatencyMs(medianTtftMs: number | null, medianOutputTokensPerSecond: number | null): number | null {
  if (medianTtftMs === null || medianOutputTokensPerSecond === null || !(medianOutputTokensPerSecond > 0) || !Number.isFinite(medianTtftMs)) return null;
  return medianTtftMs + (STANDARD_CONVERSATION.outputTokens / medianOutputTokensPerSecond) * 1000;
}
