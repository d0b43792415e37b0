import type { PricesPer1k } from "../ledger/money";

/**
 * Credit arithmetic for one request before it runs (../shared/DESIGN.md
 * "Credit control"). Integers only: tokens as numbers, money as nano-USD bigint.
 */

/**
 * Worst-case cost in nano-USD: every prompt token uncached at the input price
 * plus `maxTokens` at the output price, per 1k tokens, rounded up so the hold
 * never falls short of what usageCostNano can charge.
 */
export function worstCaseNano(promptTokens: number, maxTokens: number, prices: PricesPer1k): bigint {
  const n = BigInt(promptTokens) * prices.inputPer1kNano + BigInt(maxTokens) * prices.outputPer1kNano;
  return (n + 999n) / 1000n;
}

/**
 * The most output tokens `availableNano` pays for after the prompt, or null
 * when output is free (no bound from credit). Negative budgets give 0.
 */
export function affordableOutputTokens(availableNano: bigint, promptTokens: number, prices: PricesPer1k): number | null {
  if (prices.outputPer1kNano === 0n) return null;
  const left = availableNano * 1000n - BigInt(promptTokens) * prices.inputPer1kNano;
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
