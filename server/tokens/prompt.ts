import { formatFunctionDefinitions } from "gpt-tokenizer/functionCalling";
import { countRepeated, countText } from "./encoders";
import { imageTokens, inlineImageSize } from "./images";
import type { Tokenizer } from "./rules";

/**
 * Prompt tokens of a Chat Completions, Completions or Embeddings request, counted the way
 * OpenAI documents its billing, with the listing's tokenizer. The proxy counts with these for
 * holds and rate limits, and the demo upstream reports them as its usage: the two agree.
 *
 * Chat messages, from OpenAI's cookbook "How to count tokens with tiktoken"
 * (github.com/openai/openai-cookbook, examples/How_to_count_tokens_with_tiktoken.ipynb):
 * every message costs 3 tokens (`<|start|>{role}\n{content}<|end|>\n`) plus its role and
 * content, a `name` 1 more plus its own tokens, and every reply is primed with 3
 * (`<|start|>assistant<|message|>`). Function (tool) definitions are rendered as the
 * TypeScript-like `namespace functions { … }` block the model sees (gpt-tokenizer's
 * formatFunctionDefinitions, after the same cookbook's "counting tokens for chat completions
 * with tool calls" section), plus 9, less 4 when a system message carries them (which then
 * ends with a newline); a forced `tool_choice` costs its name plus 4, "none" 1; each tool call
 * its name and arguments plus 3. Images follow OpenAI's vision pricing (images.ts).
 *
 * Not documented by OpenAI, so counted as text to err high: a `response_format` JSON schema
 * (its JSON), and 2 000 tokens held for each part that is neither text nor image (audio, file).
 */

const PER_MESSAGE = 3;
const PER_NAME = 1;
const REPLY_PRIMING = 3;
const PER_TOOL_CALL = 3;
const FUNCTIONS_OVERHEAD = 9;
const SYSTEM_WITH_FUNCTIONS = -4;
const FORCED_FUNCTION = 4;
const FUNCTION_NONE = 1;
export const NON_TEXT_PART_TOKENS = 2_000;

const str = (v: unknown) => (typeof v === "string" ? v : "");
const obj = (v: unknown) => (v && typeof v === "object" ? (v as Record<string, unknown>) : null);

function contentTokens(t: Tokenizer, content: unknown): number {
  if (typeof content === "string") return countText(t, content);
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const p of content) {
    const part = obj(p);
    if (!part) continue;
    if (typeof part.text === "string") n += countText(t, part.text);
    else if (part.type === "image_url") {
      const image = obj(part.image_url);
      n += imageTokens(image?.detail, inlineImageSize(image?.url));
    } else n += NON_TEXT_PART_TOKENS;
  }
  return n;
}

function callTokens(t: Tokenizer, call: unknown): number {
  const f = obj(obj(call)?.function) ?? obj(call);
  return f ? countText(t, str(f.name)) + countText(t, str(f.arguments)) + PER_TOOL_CALL : 0;
}

type FunctionDefinition = Parameters<typeof formatFunctionDefinitions>[0][number];

/** The request's function definitions: `tools` of type function, or the older `functions`. */
function functionsOf(body: Record<string, unknown>): FunctionDefinition[] {
  const fns: FunctionDefinition[] = [];
  if (Array.isArray(body.tools)) for (const tool of body.tools) if (obj(obj(tool)?.function)) fns.push(obj(tool)!.function as FunctionDefinition);
  if (Array.isArray(body.functions)) for (const f of body.functions) if (obj(f)) fns.push(f as FunctionDefinition);
  return fns;
}

function functionsTokens(t: Tokenizer, fns: FunctionDefinition[]): number {
  let text: string;
  try {
    text = formatFunctionDefinitions(fns);
  } catch (err) {
    // A schema the renderer cannot read (a property that is not an object, an enum that is not
    // an array) still reaches the model as JSON: count that. Too deep to render is refused.
    if (err instanceof RangeError) throw err;
    text = JSON.stringify(fns);
  }
  return countText(t, text) + FUNCTIONS_OVERHEAD;
}

function choiceTokens(t: Tokenizer, choice: unknown): number {
  if (choice === "none") return FUNCTION_NONE;
  const c = obj(choice);
  const name = c && (typeof c.name === "string" ? c.name : str(obj(c.function)?.name));
  return name ? countText(t, name) + FORCED_FUNCTION : 0;
}

/**
 * Prompt tokens of a chat request: its messages, the functions and tool choice it declares and
 * its response format. Throws a RangeError on absurdly deep nesting: callers refuse such a body.
 */
export function chatPromptTokens(t: Tokenizer, body: Record<string, unknown>): number {
  const fns = functionsOf(body);
  let n = REPLY_PRIMING;
  let systemPadded = fns.length === 0;
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      n += PER_MESSAGE;
      const msg = obj(m);
      if (!msg) continue;
      // The few roles there are (system, user, assistant, tool…) are counted once per tokenizer.
      n += countRepeated(t, str(msg.role));
      if (!systemPadded && msg.role === "system" && typeof msg.content === "string") {
        systemPadded = true;
        n += countText(t, msg.content.endsWith("\n") || msg.content === "" ? msg.content : `${msg.content}\n`);
      } else n += contentTokens(t, msg.content);
      if (typeof msg.name === "string" && msg.name) n += countText(t, msg.name) + PER_NAME;
      if (Array.isArray(msg.tool_calls)) for (const call of msg.tool_calls) n += callTokens(t, call);
      if (msg.function_call) n += callTokens(t, msg.function_call);
    }
  }
  if (fns.length > 0) {
    n += functionsTokens(t, fns);
    if (Array.isArray(body.messages) && body.messages.some((m) => obj(m)?.role === "system")) n += SYSTEM_WITH_FUNCTIONS;
  }
  n += choiceTokens(t, body.tool_choice ?? body.function_call);
  const format = obj(body.response_format);
  if (format?.type === "json_schema" && format.json_schema !== undefined) n += countText(t, JSON.stringify(format.json_schema));
  return n;
}

/** Prompt tokens of a completions `prompt` or an embeddings `input`: text, a list of texts, or token ids. */
export function textInputTokens(t: Tokenizer, input: unknown): number {
  if (typeof input === "string") return countText(t, input);
  if (!Array.isArray(input)) return 0;
  if (input.every((x) => typeof x === "number")) return input.length;
  let n = 0;
  for (const s of input) n += typeof s === "string" ? countText(t, s) : Array.isArray(s) ? s.length : 0;
  return n;
}
