import { createRequire } from "node:module";
import type { BytePairEncodingCore as Core } from "gpt-tokenizer/BytePairEncodingCore";
import { tokenizerOf, type Tokenizer } from "./rules";

/**
 * Exact token counts of plain text with real tokenizers that ship their vocabularies:
 * gpt-tokenizer for OpenAI's encodings, and for Llama 3 the vocabulary of llama3-tokenizer-js
 * run by gpt-tokenizer's BPE core (Llama 3's tokenizer is a tiktoken BPE with cl100k's split
 * pattern; llama3-tokenizer-js's own merge loop is 2–5× slower, and its encode stays the
 * reference the tests compare with). Each vocabulary loads once, synchronously, on first use
 * (a second or so of parsing each, and tens of MB): `warm` lets a process pay that at start.
 */

const require = createRequire(import.meta.url);

type Count = (text: string) => number;

/** Special-token names in ordinary text are text to OpenAI's API: nothing is disallowed. */
const AS_TEXT = { disallowedSpecial: new Set<string>() };

function openai(module: string): Count {
  const api = require(`gpt-tokenizer/cjs/encoding/${module}`) as { countTokens: (text: string, options: typeof AS_TEXT) => number };
  return (text) => api.countTokens(text, AS_TEXT);
}

/** GPT-2's byte-to-unicode table, inverted: llama3-tokenizer-js stores each token's bytes as these characters. */
function byteOfChar(): Map<number, number> {
  const map = new Map<number, number>();
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    const printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    map.set(printable ? b : 256 + shifted++, b);
  }
  return map;
}

/** First id of Llama 3's special tokens (`<|begin_of_text|>`…): they follow its 128 000 ordinary ones. */
const LLAMA3_SPECIAL_FROM = 128_000;

function llama3(): Count {
  const vocab = (require("llama3-tokenizer-js") as { default: { vocabById: string[] } }).default.vocabById;
  const { BytePairEncodingCore } = require("gpt-tokenizer/cjs/BytePairEncodingCore") as { BytePairEncodingCore: typeof Core };
  const { CL100K_TOKEN_SPLIT_REGEX } = require("gpt-tokenizer/cjs/encodingParams/constants") as { CL100K_TOKEN_SPLIT_REGEX: RegExp };
  const bytes = byteOfChar();
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const ranks: (string | number[])[] = [];
  const specials: string[] = [];
  for (const [id, token] of vocab.entries()) {
    if (id >= LLAMA3_SPECIAL_FROM) {
      specials.push(token);
      continue;
    }
    const b = Array.from(token, (c) => bytes.get(c.codePointAt(0)!)!);
    try {
      ranks[id] = utf8.decode(new Uint8Array(b));
    } catch {
      ranks[id] = b;
    }
  }
  const core = new BytePairEncodingCore({ bytePairRankDecoder: ranks, tokenSplitRegex: CL100K_TOKEN_SPLIT_REGEX });
  // Llama servers (and llama3-tokenizer-js) read a special token's name in text as that one token.
  const special = new RegExp(specials.map((s) => s.replace(/[|]/g, "\\|")).join("|"), "g");
  return (text) => {
    if (!text.includes("<|")) return core.countNative(text);
    let n = 0;
    let from = 0;
    for (const m of text.matchAll(special)) {
      n += core.countNative(text.slice(from, m.index)) + 1;
      from = m.index + m[0].length;
    }
    return n + core.countNative(text.slice(from));
  };
}

const LOADERS: Record<Tokenizer, () => Count> = {
  o200k_base: () => openai("o200k_base"),
  cl100k_base: () => openai("cl100k_base"),
  p50k_base: () => openai("p50k_base"),
  r50k_base: () => openai("r50k_base"),
  llama3,
};

const loaded = new Map<Tokenizer, Count>();

function encoder(tokenizer: Tokenizer): Count {
  let count = loaded.get(tokenizer);
  if (!count) {
    count = LOADERS[tokenizer]();
    loaded.set(tokenizer, count);
  }
  return count;
}

/** Loads the vocabularies of these tokenizers now rather than on the first request that needs them. */
export function warm(tokenizers: Iterable<string>): void {
  for (const t of tokenizers) encoder(tokenizerOf(t));
}

/**
 * Long texts come back: a chat resends its history each turn, agents resend the same system prompt
 * and tools. Their counts are kept by content (per tokenizer), up to a bound on the characters held.
 */
const CACHE_FROM_CHARS = 256;
const CACHE_MAX_CHARS = 16_000_000;
const cache = new Map<Tokenizer, Map<string, number>>();
let cachedChars = 0;

/** Tokens in `text` under `tokenizer`, as its reference encoder counts them. 0 for "". */
export function countText(tokenizer: Tokenizer, text: string): number {
  if (text.length === 0) return 0;
  if (text.length < CACHE_FROM_CHARS) return encoder(tokenizer)(text);
  let counts = cache.get(tokenizer);
  if (!counts) {
    counts = new Map();
    cache.set(tokenizer, counts);
  }
  let n = counts.get(text);
  if (n === undefined) {
    n = encoder(tokenizer)(text);
    if (cachedChars + text.length > CACHE_MAX_CHARS) {
      for (const m of cache.values()) m.clear();
      cachedChars = 0;
    }
    counts.set(text, n);
    cachedChars += text.length;
  }
  return n;
}
