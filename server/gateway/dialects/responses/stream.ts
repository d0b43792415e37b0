import { isObject } from "../../inputs";
import type { ApiError } from "../../openai-errors";
import type { Bill } from "../../bill";
import type { AnswerMeta, StreamTranslator } from "../types";
import { ending, functionCallId, functionCallItem, messageId, messageItem, responseObject, responsesUsage } from "./answer";
import type { ResponsesCtx } from "./request";

/**
 * An upstream's chat completion chunks as Responses API events: response.created
 * and response.in_progress first; an output item per assistant message and per
 * function call (output_item.added, then output_text.delta or
 * function_call_arguments.delta as the chunks come); at the end each item's
 * .done events and response.completed (or .incomplete, .failed) carrying the
 * whole Response with the usage as billed. The upstream is hostile: what is not
 * a well-formed chunk is skipped, never thrown on.
 */

type Json = Record<string, unknown>;
type Call = { outputIndex: number; index: number; callId: string; name: string; args: string };
type Part = { type: "output_text" | "refusal"; value: string };

const EVENT_END = /\r?\n\r?\n/;

const CONTENT = '"content":"';
/** Marks a chunk that needs reading whole: tool calls, a finish reason, a refusal, more than one choice. */
const SPECIAL = /"(?:tool_calls|refusal|finish_reason":"|index":[1-9])/;

/**
 * The text of the usual chunk (one choice, a content delta, nothing else that matters) without
 * parsing the chunk: just its content string, decoded. Null when the chunk needs a full parse.
 * Deltas are most of a stream's events, and a parse of each was most of this translator's cost.
 */
function plainTextDelta(data: string): string | null {
  if (SPECIAL.test(data)) return null;
  const at = data.indexOf(CONTENT);
  if (at === -1 || data.indexOf(CONTENT, at + 1) !== -1) return null;
  let e = at + CONTENT.length;
  while (e < data.length && data.charCodeAt(e) !== 34 /* " */) e += data.charCodeAt(e) === 92 /* \ */ ? 2 : 1;
  if (e >= data.length) return null;
  try {
    return JSON.parse(data.slice(at + CONTENT.length - 1, e + 1)) as string;
  } catch {
    return null;
  }
}

export class ResponsesStream implements StreamTranslator {
  private seq = 0;
  private started = false;
  /** The assistant message item: its parts (output text, a refusal) in the order they began. */
  private text: { outputIndex: number; parts: Part[] } | null = null;
  private readonly calls = new Map<number, Call>();
  private outputs = 0;
  private finish: unknown = null;
  /** The start of every text delta event but its delta: written once, as deltas are most of a stream's events. */
  private textDeltaHead = "";

  constructor(
    private readonly ctx: ResponsesCtx,
    private readonly meta: AnswerMeta,
  ) {}

  private event(type: string, data: Json): string {
    return `event: ${type}\ndata: ${JSON.stringify({ type, ...data, sequence_number: this.seq++ })}\n\n`;
  }

  start(): string {
    if (this.started) return "";
    this.started = true;
    const response = JSON.stringify(responseObject(this.ctx, this.meta, { status: "in_progress", output: [], usage: null }));
    // The same object twice: serialised once.
    return (
      `event: response.created\ndata: {"type":"response.created","response":${response},"sequence_number":${this.seq++}}\n\n` +
      `event: response.in_progress\ndata: {"type":"response.in_progress","response":${response},"sequence_number":${this.seq++}}\n\n`
    );
  }

  push(events: Buffer | string): string {
    const raw = typeof events === "string" ? Buffer.from(events, "latin1").toString("utf8") : events.toString("utf8");
    let out = this.start();
    // Upstreams almost always end lines with a bare \n and send one data line per event: split on strings then.
    const crlf = raw.includes("\r");
    for (const block of crlf ? raw.split(EVENT_END) : raw.split("\n\n")) {
      let data = "";
      if (!crlf && block.startsWith("data: ") && !block.includes("\n")) data = block.slice(6);
      else for (const line of block.split(/\r?\n/)) if (line.startsWith("data:")) data += line.slice(line[5] === " " ? 6 : 5);
      if (!data || data === "[DONE]") continue;
      const text = plainTextDelta(data);
      if (text !== null) {
        if (text) out += this.textDelta(text);
        continue;
      }
      let chunk: unknown;
      try {
        chunk = JSON.parse(data);
      } catch {
        continue;
      }
      if (isObject(chunk) && Array.isArray(chunk.choices) && isObject(chunk.choices[0])) out += this.choice(chunk.choices[0]);
    }
    return out;
  }

  private choice(c: Json): string {
    if (c.finish_reason) this.finish = c.finish_reason;
    const delta = isObject(c.delta) ? c.delta : null;
    if (!delta) return "";
    let out = "";
    if (typeof delta.content === "string" && delta.content) out += this.textDelta(delta.content);
    if (typeof delta.refusal === "string" && delta.refusal) out += this.textDelta(delta.refusal, "refusal");
    if (Array.isArray(delta.tool_calls)) for (const t of delta.tool_calls) if (isObject(t)) out += this.callDelta(t);
    return out;
  }

  private textDelta(delta: string, type: Part["type"] = "output_text"): string {
    let out = "";
    if (!this.text) {
      this.text = { outputIndex: this.outputs++, parts: [] };
      out += this.event("response.output_item.added", { output_index: this.text.outputIndex, item: messageItem(this.meta, [], "in_progress") });
    }
    const output_index = this.text.outputIndex;
    const parts = this.text.parts;
    let content_index = parts.findIndex((p) => p.type === type);
    if (content_index === -1) {
      content_index = parts.push({ type, value: "" }) - 1;
      const part = type === "output_text" ? { type, text: "", annotations: [], logprobs: [] } : { type, refusal: "" };
      out += this.event("response.content_part.added", { item_id: messageId(this.meta), output_index, content_index, part });
    }
    parts[content_index]!.value += delta;
    if (type === "refusal") return out + this.event("response.refusal.delta", { item_id: messageId(this.meta), output_index, content_index, delta });
    this.textDeltaHead ||= `event: response.output_text.delta\ndata: {"type":"response.output_text.delta","item_id":${JSON.stringify(messageId(this.meta))},"output_index":${output_index},"content_index":${content_index},"logprobs":[],"delta":`;
    return `${out}${this.textDeltaHead}${JSON.stringify(delta)},"sequence_number":${this.seq++}}\n\n`;
  }

  private callDelta(t: Json): string {
    const index = typeof t.index === "number" && Number.isSafeInteger(t.index) ? t.index : 0;
    const fn = isObject(t.function) ? t.function : {};
    let out = "";
    let call = this.calls.get(index);
    if (!call) {
      const callId = typeof t.id === "string" && t.id ? t.id : `call_${this.meta.requestId.replaceAll("-", "")}_${index}`;
      call = { outputIndex: this.outputs++, index, callId, name: typeof fn.name === "string" ? fn.name : "", args: "" };
      this.calls.set(index, call);
      out += this.event("response.output_item.added", {
        output_index: call.outputIndex,
        item: functionCallItem(this.meta, index, call.callId, call.name, "", "in_progress"),
      });
    } else if (!call.name && typeof fn.name === "string") call.name = fn.name;
    if (typeof fn.arguments === "string" && fn.arguments) {
      call.args += fn.arguments;
      out += this.event("response.function_call_arguments.delta", {
        item_id: functionCallId(this.meta, index),
        output_index: call.outputIndex,
        delta: fn.arguments,
      });
    }
    return out;
  }

  /** The finished items in output order, and (when `emit`) each open item's closing events, in that order. */
  private closeItems(emit: boolean): { events: string; output: Json[] } {
    const items: { outputIndex: number; item: Json; close: () => string }[] = [];
    if (this.text) {
      const { outputIndex: output_index, parts } = this.text;
      const item = messageItem(this.meta, parts, "completed");
      const item_id = messageId(this.meta);
      items.push({
        outputIndex: output_index,
        item,
        close: () => {
          let out = "";
          parts.forEach((p, content_index) => {
            const at = { item_id, output_index, content_index };
            out +=
              (p.type === "output_text"
                ? this.event("response.output_text.done", { ...at, text: p.value, logprobs: [] })
                : this.event("response.refusal.done", { ...at, refusal: p.value })) +
              this.event("response.content_part.done", { ...at, part: (item.content as Json[])[content_index] });
          });
          return out + this.event("response.output_item.done", { output_index, item });
        },
      });
    }
    for (const c of this.calls.values()) {
      const item = functionCallItem(this.meta, c.index, c.callId, c.name, c.args, "completed");
      const output_index = c.outputIndex;
      items.push({
        outputIndex: output_index,
        item,
        close: () =>
          this.event("response.function_call_arguments.done", { item_id: item.id, output_index, name: c.name, arguments: c.args }) +
          this.event("response.output_item.done", { output_index, item }),
      });
    }
    items.sort((a, b) => a.outputIndex - b.outputIndex);
    return { events: emit ? items.map((i) => i.close()).join("") : "", output: items.map((i) => i.item) };
  }

  end(bill: Bill): string {
    const head = this.start();
    const { events, output } = this.closeItems(true);
    const end = ending(this.finish);
    const response = responseObject(this.ctx, this.meta, { ...end, output, usage: responsesUsage(bill) });
    return `${head}${events}${this.event(end.status === "completed" ? "response.completed" : "response.incomplete", { response })}`;
  }

  fail(error: ApiError, bill: Bill): string {
    const head = this.start();
    const { output } = this.closeItems(false);
    const response = responseObject(this.ctx, this.meta, {
      status: "failed",
      output,
      usage: responsesUsage(bill),
      error: { code: "server_error", message: error.message },
    });
    return `${head}${this.event("response.failed", { response })}`;
  }
}
