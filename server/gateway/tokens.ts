/**
 * Token counts for when an upstream reports none (and for credit estimates
 * before a request runs). The brief allows no new dependency, so instead of a
 * BPE tokenizer from npm this is a documented BPE-free counter:
 *
 *   - a run of letters or digits is one token, plus one more for every 8
 *     characters past the first 8 (BPE vocabularies hold most common words
 *     whole and split long or rare ones);
 *   - every other non-space character (punctuation, symbols) is one token;
 *   - whitespace rides along with the next word, as it does in GPT-style BPE.
 *
 * How close it is: against the demo upstream (server/upstream-demo), whose
 * answers are short English words, it matches completion_tokens exactly
 * (tokens.test.ts checks 200 prompts). No real BPE tokenizer is installed here,
 * so it has not been measured against cl100k; on English prose BPE gives about
 * 1.3 tokens per word and this gives one per word plus punctuation, so expect it
 * to undercount prose by up to ~20 % (events counted this way are marked
 * `estimated`). Prompt estimates (for credit, before a request runs) use the
 * larger of this and ceil(chars / 4), so they err high; against the demo's
 * prompt_tokens they are never low (tokens.test.ts).
 */

const SPACE = 1;
const WORD = 2;
const OTHER = 3;

function classOf(code: number): number {
  if (code === 32 || code === 9 || code === 10 || code === 13) return SPACE;
  if ((code >= 48 && code <= 57) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code >= 128) return WORD;
  return OTHER;
}

const WORD_CHARS_PER_EXTRA_TOKEN = 8;

function wordTokens(length: number): number {
  return 1 + Math.floor(Math.max(0, length - 1) / WORD_CHARS_PER_EXTRA_TOKEN);
}

/** Estimated BPE tokens in a text (see the module comment). 0 for "". */
export function countTextTokens(text: string): number {
  let tokens = 0;
  let run = 0;
  for (let i = 0; i < text.length; i++) {
    const c = classOf(text.charCodeAt(i));
    if (c === WORD) {
      run++;
      continue;
    }
    if (run) tokens += wordTokens(run);
    run = 0;
    if (c === OTHER) tokens++;
  }
  if (run) tokens += wordTokens(run);
  return tokens;
}

/**
 * The same count over the raw bytes of a JSON string's contents (between its
 * quotes), without decoding it: the streaming hot path counts each chunk's
 * delta this way. An escape (`\n`, `\"`, `\u00e9`) counts as what it stands
 * for closely enough: `\n` as space, `\"` as a symbol, a `\u` escape as a letter.
 */
export function countJsonStringTokens(buf: Buffer, start: number, end: number): number {
  let tokens = 0;
  let run = 0;
  for (let i = start; i < end; i++) {
    let code = buf[i]!;
    if (code === 92 /* \ */ && i + 1 < end) {
      const next = buf[i + 1]!;
      i++;
      if (next === 110 || next === 116 || next === 114) code = 32;
      else if (next === 117) {
        code = 200;
        i += 4;
      } else code = next;
    }
    const c = classOf(code);
    if (c === WORD) {
      run++;
      continue;
    }
    if (run) tokens += wordTokens(run);
    run = 0;
    if (c === OTHER) tokens++;
  }
  if (run) tokens += wordTokens(run);
  return tokens;
}

/** Chat formats add a few tokens per message (role, separators), as OpenAI's counting does. */
export const TOKENS_PER_MESSAGE = 4;

/**
 * Tokens held for each content part that is not text (an image, audio, a file): more
 * than the dearest image OpenAI bills (a high-detail 768×2048 image is 1 445 tokens).
 */
export const NON_TEXT_PART_TOKENS = 2_000;

/**
 * The heuristics, the largest: a prompt estimate for credit must not come out low (billing
 * never exceeds the hold). Scripts without spaces (Chinese, Japanese, Thai) run about one
 * BPE token per character, which the word count misses: each non-ASCII character counts one.
 */
function promptTextTokens(text: string): number {
  let nonAscii = 0;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) >= 128) nonAscii++;
  return Math.max(countTextTokens(text), Math.ceil(text.length / 4), nonAscii);
}

function contentTokens(content: unknown): number {
  if (typeof content === "string") return promptTextTokens(content);
  if (!Array.isArray(content)) return 0;
  let text = "";
  let parts = 0;
  for (const part of content) {
    if (part && typeof part === "object" && "text" in part && typeof part.text === "string") text += part.text;
    else parts++;
  }
  return promptTextTokens(text) + parts * NON_TEXT_PART_TOKENS;
}

/** The JSON of what rides beside the text (tool schemas, tool calls, response formats), counted as prompt text. */
function jsonTokens(value: unknown): number {
  return value === undefined || value === null ? 0 : promptTextTokens(JSON.stringify(value));
}

/**
 * Estimated prompt tokens of a chat request: its messages (text, non-text parts,
 * tool calls) and the tools, functions, tool_choice and response_format it sends.
 * JSON.stringify throws a RangeError on absurdly deep nesting: callers refuse such a body.
 */
export function chatPromptTokens(body: { messages?: unknown; tools?: unknown; functions?: unknown; tool_choice?: unknown; response_format?: unknown }): number {
  const messages = body.messages;
  let n = jsonTokens(body.tools) + jsonTokens(body.functions) + jsonTokens(body.tool_choice) + jsonTokens(body.response_format);
  if (!Array.isArray(messages)) return n;
  for (const m of messages) {
    n += TOKENS_PER_MESSAGE;
    if (!m || typeof m !== "object") continue;
    const { content, tool_calls, function_call, name } = m as Record<string, unknown>;
    n += contentTokens(content) + jsonTokens(tool_calls) + jsonTokens(function_call) + jsonTokens(name);
  }
  return n;
}

/** Estimated prompt tokens of a completions `prompt` or an embeddings `input` (string or array of strings). */
export function textInputTokens(input: unknown): number {
  if (typeof input === "string") return promptTextTokens(input);
  if (Array.isArray(input)) {
    let n = 0;
    for (const s of input) n += typeof s === "string" ? promptTextTokens(s) : Array.isArray(s) ? s.length : 0;
    return n;
  }
  return 0;
}
