import { countText } from "../tokens/encoders";
import { chatPromptTokens, textInputTokens } from "../tokens/prompt";
import { tokenizerOf, type Tokenizer } from "../tokens/rules";
import type { Endpoint } from "./routing";

/**
 * The proxy's token counts, with the tokenizer each listing declares (server/tokens/): a
 * request's prompt before it runs (for its rate limits and its hold), and an answer's output
 * when the upstream reports no usage (the event is then marked `estimated`).
 */

/**
 * The prompt as each candidate's tokenizer counts it. The hold and the rate limits take the
 * largest (any candidate may serve); a bill without upstream usage takes the serving listing's own.
 */
export type PromptCount = { tokens: number; by: Tokenizer | Map<Tokenizer, number> };

function promptTokens(t: Tokenizer, endpoint: Endpoint, body: Record<string, unknown>): number {
  return endpoint === "chat" ? chatPromptTokens(t, body) : textInputTokens(t, endpoint === "completion" ? body.prompt : body.input);
}

/** Counts once per distinct tokenizer among the candidates (nearly always one). Throws a RangeError on absurd nesting. */
export function countPrompt(endpoint: Endpoint, body: Record<string, unknown>, candidates: readonly { tokenizer: string }[]): PromptCount {
  const first = tokenizerOf(candidates[0]?.tokenizer);
  const tokens = promptTokens(first, endpoint, body);
  if (candidates.every((c) => tokenizerOf(c.tokenizer) === first)) return { tokens, by: first };
  const by = new Map<Tokenizer, number>([[first, tokens]]);
  let max = tokens;
  for (const c of candidates) {
    const t = tokenizerOf(c.tokenizer);
    if (by.has(t)) continue;
    const n = promptTokens(t, endpoint, body);
    by.set(t, n);
    if (n > max) max = n;
  }
  return { tokens: max, by };
}

/** The prompt's tokens under the tokenizer of the listing that served it. */
export function promptTokensFor(count: PromptCount, tokenizer: string): number {
  if (!(count.by instanceof Map)) return count.tokens;
  return count.by.get(tokenizerOf(tokenizer)) ?? count.tokens;
}

/** Output tokens of a whole answer's text (relay-json.ts; streams count in sse.ts). */
export function answerTokens(tokenizer: string, text: string): number {
  return countText(tokenizerOf(tokenizer), text);
}
