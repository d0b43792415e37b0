/** What a finished request was billed (billing.ts): the tokens as billed and their cost. Its own file so client dialects (dialects/) can read it without the relay. */
export type Bill = {
  costNano: bigint;
  estimated: boolean;
  promptTokens: number;
  outputTokens: number;
  cachedTokens: number;
  /**
   * Of `outputTokens`, those the model spent reasoning, as the upstream reported them (withReasoning). They are
   * billed as output like the rest: OpenAI's `completion_tokens` already include them. Absent: none reported.
   */
  reasoningTokens?: number;
};

/**
 * The bill with the reasoning tokens an upstream's chat usage reports (`completion_tokens_details.reasoning_tokens`,
 * OpenAI's shape), for answers that carry them in their own terms (the Responses API). The upstream is hostile: only
 * a non-negative safe integer counts, never more than the output billed, and nothing when the usage was estimated
 * (no usage was believed, so neither is its breakdown). Pure: it changes neither the tokens billed nor the cost.
 */
export function withReasoning(bill: Bill, usage: unknown): Bill {
  if (bill.estimated || !usage || typeof usage !== "object") return bill;
  const details = (usage as { completion_tokens_details?: unknown }).completion_tokens_details;
  const n = details && typeof details === "object" ? (details as { reasoning_tokens?: unknown }).reasoning_tokens : undefined;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n <= 0) return bill;
  return { ...bill, reasoningTokens: Math.min(n, bill.outputTokens) };
}
