/**
 * The tokenizers a listing may declare (its `tokenizer` field), as a closed list: each is
 * one the proxy and the demo upstream can run offline (server/tokens/encoders.ts). Pure, so
 * the listing form and the database schema share the list.
 */
export const TOKENIZERS = ["o200k_base", "cl100k_base", "p50k_base", "r50k_base", "llama3"] as const;

export type Tokenizer = (typeof TOKENIZERS)[number];

/**
 * What a listing that declares none counts with, and what a proxy counts with when the catalog
 * names one it does not know (a backend newer than the proxy): OpenAI's current encoding.
 */
export const DEFAULT_TOKENIZER: Tokenizer = "o200k_base";

/** What each is, for providers choosing one. */
export const TOKENIZER_LABELS: Record<Tokenizer, string> = {
  o200k_base: "o200k_base (GPT-4o, GPT-4.1, GPT-5, o-series)",
  cl100k_base: "cl100k_base (GPT-4, GPT-3.5, text-embedding-3)",
  p50k_base: "p50k_base (Codex, text-davinci-002/003)",
  r50k_base: "r50k_base (GPT-3, GPT-2)",
  llama3: "llama3 (Llama 3, 3.1, 3.2, 3.3)",
};

const KNOWN = new Set<string>(TOKENIZERS);

/** The tokenizer to count with for a declared name: the name when listed, else DEFAULT_TOKENIZER. */
export function tokenizerOf(name: unknown): Tokenizer {
  return typeof name === "string" && KNOWN.has(name) ? (name as Tokenizer) : DEFAULT_TOKENIZER;
}
