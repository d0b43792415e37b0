import { usdDecimal } from "../../../ledger/money";
import { isObject } from "../../inputs";
import type { ApiError } from "../../openai-errors";
import type { Bill } from "../../bill";
import type { AnswerMeta, StreamTranslator } from "../types";
import type { MessagesCtx } from "./request";

/**
 * The upstream's Chat Completions answer as Anthropic's Messages answer: content
 * blocks, stop reason, usage (with `cost` beside Anthropic's fields, in dollars
 * as on every other endpoint), streamed as Anthropic's event sequence
 * (message_start, content_block_start/delta/stop, message_delta, message_stop)
 * or whole. The upstream is hostile input: anything malformed is skipped, never thrown.
 */

type Json = Record<string, unknown>;

export const messageId = (requestId: string) => `msg_${requestId.replace(/-/g, "")}`;

/**
 * Chat finish_reason → Messages stop_reason. Chat does not say which stop string matched;
 * vLLM-style upstreams do (`stop_reason` on the choice), and then it is `stop_sequence`.
 */
export function stopReason(choice: Json | null, ctx: MessagesCtx): { stop_reason: string; stop_sequence: string | null } {
  const finish = choice?.finish_reason;
  if (finish === "length") return { stop_reason: "max_tokens", stop_sequence: null };
  if (finish === "tool_calls" || finish === "function_call") return { stop_reason: "tool_use", stop_sequence: null };
  if (finish === "content_filter") return { stop_reason: "refusal", stop_sequence: null };
  const matched = choice?.stop_reason;
  if (typeof matched === "string" && ctx.stop.includes(matched)) return { stop_reason: "stop_sequence", stop_sequence: matched };
  return { stop_reason: "end_turn", stop_sequence: null };
}

/** Billed tokens in Anthropic's terms: input_tokens excludes cache reads, which are counted apart. */
export function messagesUsage(bill: Bill) {
  return {
    input_tokens: bill.promptTokens - bill.cachedTokens,
    output_tokens: bill.outputTokens,
    cache_read_input_tokens: bill.cachedTokens,
    cache_creation_input_tokens: 0,
    cost: usdDecimal(bill.costNano),
    ...(bill.estimated ? { estimated: true } : {}),
  };
}

/** A tool call's arguments as the object Messages wants; arguments that are not a JSON object give `{}`. */
function toolInput(args: unknown): Json {
  if (typeof args !== "string") return {};
  try {
    const v = JSON.parse(args) as unknown;
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

const firstChoice = (answer: Json): Json | null => (Array.isArray(answer.choices) && isObject(answer.choices[0]) ? answer.choices[0] : null);

export function messagesJson(answer: Json, bill: Bill, ctx: MessagesCtx, meta: AnswerMeta): Json {
  const choice = firstChoice(answer);
  const message = choice && isObject(choice.message) ? choice.message : {};
  const content: Json[] = [];
  let text = "";
  if (typeof message.content === "string") text = message.content;
  else if (Array.isArray(message.content)) for (const p of message.content) if (isObject(p) && typeof p.text === "string") text += p.text;
  if (text) content.push({ type: "text", text });
  if (Array.isArray(message.tool_calls)) {
    message.tool_calls.forEach((c: unknown, k: number) => {
      if (!isObject(c) || !isObject(c.function)) return;
      const fn = c.function;
      content.push({
        type: "tool_use",
        id: typeof c.id === "string" && c.id ? c.id : `toolu_${meta.requestId.replace(/-/g, "")}_${k}`,
        name: typeof fn.name === "string" ? fn.name : "",
        input: toolInput(fn.arguments),
      });
    });
  }
  return {
    id: messageId(meta.requestId),
    type: "message",
    role: "assistant",
    model: meta.model,
    content,
    ...stopReason(choice, ctx),
    usage: messagesUsage(bill),
  };
}

const event = (type: string, data: Json) => `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;

/** Anthropic's error types by HTTP status; 402 (credit) is `billing_error`, as Anthropic answers an account that cannot pay. */
export function messagesErrorType(status: number): string {
  if (status === 401) return "authentication_error";
  if (status === 402) return "billing_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 413) return "request_too_large";
  if (status === 429) return "rate_limit_error";
  if (status === 503 || status === 529) return "overloaded_error";
  if (status === 504) return "timeout_error";
  if (status >= 500) return "api_error";
  return "invalid_request_error";
}

/** The error body: Anthropic's envelope, with our machine-readable code beside the message. */
export function messagesErrorBody(e: ApiError): string {
  return JSON.stringify({ type: "error", error: { type: messagesErrorType(e.status), message: e.message, ...(e.code ? { code: e.code } : {}) } });
}

/** Upstream chat chunks → Messages events; one content block open at a time, as Anthropic streams them. */
export class MessagesStream implements StreamTranslator {
  private nextIndex = 0;
  /** The block being streamed: its index, and which chat tool call it is (-1: text). */
  private open: { index: number; tool: number } | null = null;
  /** Chat tool call index → block index. */
  private readonly tools = new Map<number, number>();
  private choice: Json | null = null;

  constructor(
    private readonly ctx: MessagesCtx,
    private readonly meta: AnswerMeta,
  ) {}

  start(): string {
    const message = {
      id: messageId(this.meta.requestId),
      type: "message",
      role: "assistant",
      model: this.meta.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      // The proxy's prompt count: the upstream's own arrives with the last chunk, in message_delta.
      usage: { input_tokens: this.meta.promptTokens, output_tokens: 0 },
    };
    return event("message_start", { message });
  }

  private close(): string {
    if (!this.open) return "";
    const out = event("content_block_stop", { index: this.open.index });
    this.open = null;
    return out;
  }

  private text(text: string): string {
    let out = "";
    if (this.open?.tool !== -1) {
      out += this.close();
      this.open = { index: this.nextIndex++, tool: -1 };
      out += event("content_block_start", { index: this.open.index, content_block: { type: "text", text: "" } });
    }
    // The event of nearly every chunk, written out: only the text needs serialising.
    return `${out}event: content_block_delta\ndata: {"type":"content_block_delta","index":${this.open!.index},"delta":{"type":"text_delta","text":${JSON.stringify(text)}}}\n\n`;
  }

  private toolCall(call: Json): string {
    const tool = typeof call.index === "number" && Number.isSafeInteger(call.index) ? call.index : 0;
    const fn = isObject(call.function) ? call.function : {};
    let out = "";
    let index = this.tools.get(tool);
    if (index === undefined) {
      out += this.close();
      index = this.nextIndex++;
      this.tools.set(tool, index);
      this.open = { index, tool };
      const id = typeof call.id === "string" && call.id ? call.id : `toolu_${this.meta.requestId.replace(/-/g, "")}_${tool}`;
      const name = typeof fn.name === "string" ? fn.name : "";
      out += event("content_block_start", { index, content_block: { type: "tool_use", id, name, input: {} } });
    }
    if (typeof fn.arguments === "string" && fn.arguments)
      out += event("content_block_delta", { index, delta: { type: "input_json_delta", partial_json: fn.arguments } });
    return out;
  }

  /** Whole upstream SSE events (as the relay forwards them: bytes, or their latin1 text), each `data:` chunk translated. */
  push(events: Buffer | string): string {
    const text = typeof events === "string" ? Buffer.from(events, "latin1").toString("utf8") : events.toString("utf8");
    let out = "";
    for (const line of text.split("\n")) {
      if (!line.startsWith("data:")) continue;
      let chunk: unknown;
      try {
        chunk = JSON.parse(line.slice(5));
      } catch {
        continue;
      }
      out += this.pushChunk(chunk);
    }
    return out;
  }

  /** One parsed upstream chunk (a chat.completion.chunk); never throws on a malformed one. */
  pushChunk(chunk: unknown): string {
    const choice = isObject(chunk) ? firstChoice(chunk) : null;
    if (!choice) return "";
    let out = "";
    const delta = choice.delta;
    if (isObject(delta)) {
      if (typeof delta.content === "string" && delta.content) out += this.text(delta.content);
      if (Array.isArray(delta.tool_calls)) for (const c of delta.tool_calls) if (isObject(c)) out += this.toolCall(c);
    }
    if (typeof choice.finish_reason === "string") this.choice = choice;
    return out;
  }

  end(bill: Bill): string {
    return this.close() + event("message_delta", { delta: stopReason(this.choice, this.ctx), usage: messagesUsage(bill) }) + event("message_stop", {});
  }

  fail(e: ApiError): string {
    return `event: error\ndata: ${messagesErrorBody(e)}\n\n`;
  }
}
