import { usageCostNano, type PricesPer1k } from "../ledger/money";

/**
 * Credit arithmetic for one request before it runs (docs/DESIGN.md
 * "Credit control"). Integers only: tokens as numbers, money as nano-USD bigint.
 */

/** The dearer of the input and cached-input prices: a prompt token may be billed at either. */
const promptPrice = (prices: PricesPer1k) => (prices.cachedInputPer1kNano > prices.inputPer1kNano ? prices.cachedInputPer1kNano : prices.inputPer1kNano);

/**
 * Worst-case cost in nano-USD: every prompt token at the dearer of the input and
 * cached-input prices plus `maxTokens` at the output price, per 1k tokens,
 * rounded up so the hold never falls short of what usageCostNano can charge.
 */
export function worstCaseNano(promptTokens: number, maxTokens: number, prices: PricesPer1k): bigint {
  const n = BigInt(promptTokens) * promptPrice(prices) + BigInt(maxTokens) * prices.outputPer1kNano;
  return (n + 999n) / 1000n;
}

/**
 * The most output tokens `availableNano` pays for after the prompt, or null
 * when output is free (no bound from credit). Negative budgets give 0.
 */
export function affordableOutputTokens(availableNano: bigint, promptTokens: number, prices: PricesPer1k): number | null {
  if (prices.outputPer1kNano === 0n) return null;
  const left = availableNano * 1000n - BigInt(promptTokens) * promptPrice(prices);
  if (left <= 0n) return 0;
  const tokens = left / prices.outputPer1kNano;
  return tokens > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(tokens);
}

/**
 * max_tokens to hold credit for when the request sets none: the configured
 * cap, never more than the context window leaves after the prompt (at least 1).
 */
export function defaultMaxTokens(contextLength: number, promptTokens: number, cap: number): number {
  return Math.max(1, Math.min(cap, contextLength - promptTokens));
}

export type TokenUsage = { promptTokens: number; completionTokens: number; cachedTokens: number };

function costOf(u: TokenUsage, prices: PricesPer1k): bigint {
  return usageCostNano({ input: u.promptTokens - u.cachedTokens, output: u.completionTokens, cachedInput: u.cachedTokens }, prices);
}

/** What a request could have produced: its prompt as estimated for the hold, and max_tokens × n. */
export type UsageBounds = { promptTokens: number; outputTokens: number; contextLength: number };

/**
 * The usage to bill for what an upstream reported (an upstream is not trusted):
 * its counts when they are plausible (prompt within the context length, output
 * within max_tokens × n) and cost no more than the hold; otherwise each count
 * clamped to what the hold was sized for, so the cost never exceeds a hold of
 * worstCaseNano(bounds.promptTokens, bounds.outputTokens, dearest prices).
 * `anomaly` says why the report was not billed as is (null when it was).
 */
export function billableUsage(
  reported: TokenUsage,
  bounds: UsageBounds,
  prices: PricesPer1k,
  holdNano: bigint,
): { billed: TokenUsage; costNano: bigint; anomaly: string | null } {
  let anomaly: string | null = null;
  if (reported.completionTokens > bounds.outputTokens)
    anomaly = `completion_tokens ${reported.completionTokens} exceed max_tokens × n = ${bounds.outputTokens}`;
  else if (reported.promptTokens > bounds.contextLength) anomaly = `prompt_tokens ${reported.promptTokens} exceed the context length ${bounds.contextLength}`;
  const costNano = anomaly ? 0n : costOf(reported, prices);
  if (!anomaly && costNano <= holdNano) return { billed: reported, costNano, anomaly: null };
  anomaly ??= `reported usage costs ${costNano} nano-USD, more than the ${holdNano} held`;
  const promptTokens = Math.min(reported.promptTokens, bounds.promptTokens);
  const billed = {
    promptTokens,
    completionTokens: Math.min(reported.completionTokens, bounds.outputTokens),
    cachedTokens: Math.min(reported.cachedTokens, promptTokens),
  };
  return { billed, costNano: costOf(billed, prices), anomaly };
}
