import fs from "node:fs";
import { createRequire } from "node:module";
import type { BytePairEncodingCore as Core } from "gpt-tokenizer/BytePairEncodingCore";
import { tokenizerOf, type Tokenizer } from "./rules";

/**
 * Exact token counts of plain text with real tokenizers that ship their vocabularies:
 * gpt-tokenizer for OpenAI's encodings, and for Llama 3 the vocabulary of llama3-tokenizer-js
 * run by gpt-tokenizer's BPE core (Llama 3's tokenizer is a tiktoken BPE with cl100k's split
 * pattern; llama3-tokenizer-js's own merge loop is 2–5× slower, and its encode stays the
 * reference the tests compare with). js-tiktoken is not needed: gpt-tokenizer ships every
 * encoding it has (the tests use it as a second reference). Each vocabulary loads once, synchronously, on first use
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

/**
 * Llama 3's special tokens (`<|begin_of_text|>`, `<|eot_id|>`, `<|reserved_special_token_N|>`…), as
 * llama3-tokenizer-js matches them in text: llama servers read such a name in text as that one token.
 */
const LLAMA3_SPECIAL =
  /<\|(?:begin_of_text|end_of_text|start_header_id|end_header_id|eot_id|eom_id|python_tag|finetune_right_pad_id|reserved_special_token_(?:[0-9]|[1-9][0-9]|1[0-9][0-9]|2[0-3][0-9]|24[0-7]))\|>/g;

/**
 * Llama 3's 128 000 ordinary tokens, by id, as llama3-tokenizer-js ships them (base64 of the tokens'
 * byte-level text, one per line). Read from its bundle rather than imported: importing it also builds
 * its merge table, seconds of start-up the proxy does not need (the ranks are the ids).
 */
function llama3Vocabulary(): string[] {
  const source = fs.readFileSync(require.resolve("llama3-tokenizer-js"), "latin1");
  const vocab = /const llama_vocab_base64 = "([A-Za-z0-9+/=]+)"/.exec(source);
  if (!vocab) throw new Error("llama3-tokenizer-js: its bundle no longer holds llama_vocab_base64 where expected");
  return Buffer.from(vocab[1]!, "base64").toString("utf8").split("\n");
}

function llama3(): Count {
  const { BytePairEncodingCore } = require("gpt-tokenizer/cjs/BytePairEncodingCore") as { BytePairEncodingCore: typeof Core };
  const { CL100K_TOKEN_SPLIT_REGEX } = require("gpt-tokenizer/cjs/encodingParams/constants") as { CL100K_TOKEN_SPLIT_REGEX: RegExp };
  const bytes = byteOfChar();
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  const ranks: (string | number[])[] = [];
  for (const [id, token] of llama3Vocabulary().entries()) {
    const b = Array.from(token, (c) => bytes.get(c.codePointAt(0)!)!);
    try {
      ranks[id] = utf8.decode(new Uint8Array(b));
    } catch {
      ranks[id] = b;
    }
  }
  const core = new BytePairEncodingCore({ bytePairRankDecoder: ranks, tokenSplitRegex: CL100K_TOKEN_SPLIT_REGEX });
  return (text) => {
    if (!text.includes("<|")) return core.countNative(text);
    let n = 0;
    let from = 0;
    for (const m of text.matchAll(LLAMA3_SPECIAL)) {
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
  return text.length < CACHE_FROM_CHARS ? encoder(tokenizer)(text) : countRepeated(tokenizer, text);
}

/** countText for a text that comes back on nearly every request (a role name, a long system prompt): kept by content. */
export function countRepeated(tokenizer: Tokenizer, text: string): number {
  let counts = cache.get(tokenizer);
  if (!counts) {
    counts = new Map();
    cache.set(tokenizer, counts);
  }
  let n = counts.get(text);
  if (n === undefined) {
    n = text.length === 0 ? 0 : encoder(tokenizer)(text);
    if (cachedChars + text.length > CACHE_MAX_CHARS) {
      for (const m of cache.values()) m.clear();
      cachedChars = 0;
    }
    counts.set(text, n);
    cachedChars += text.length;
  }
  return n;
}
