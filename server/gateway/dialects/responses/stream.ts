import { isObject } from "../../inputs";
import type { ApiError } from "../../openai-errors";
import type { Bill } from "../../bill";
import type { AnswerMeta, StreamTranslator } from "../types";
import { ending, functionCallId, functionCallItem, messageId, responseObject, responsesUsage } from "./answer";
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
/**
 * A part of the assistant message, its text kept as JSON string contents (escaped, without the
 * quotes) piece by piece as it streamed: the events that repeat it whole write those pieces
 * joined, never decoding and encoding the text again.
 */
type Part = { type: "output_text" | "refusal"; pieces: string[] };

const EVENT_END = /\r?\n\r?\n/;

const CONTENT = '"content":"';
/** Marks a chunk that needs reading whole: tool calls, a finish reason, a refusal, more than one choice. */
const SPECIAL = /"(?:tool_calls|refusal|finish_reason":"|index":[1-9])/;
/** What may follow a backslash in a JSON string: " \ / b f n r t (u is checked with its four hex digits). */
const ESCAPED = new Set([34, 92, 47, 98, 102, 110, 114, 116]);
const HEX4 = /^[0-9A-Fa-f]{4}$/;

/** A decoded string as JSON string contents (escaped, without the quotes). */
const escaped = (text: string) => JSON.stringify(text).slice(1, -1);

/**
 * The text of the usual chunk (one choice, a content delta, nothing else that matters) without
 * parsing the chunk: its content string's JSON contents as the upstream escaped them, checked to
 * be valid JSON (no raw control character, only JSON's escapes), to be written into the delta
 * event as they are. Null when the chunk needs a full parse. Deltas are most of a stream's
 * events, and a parse of each was most of this translator's cost.
 */
function plainTextDelta(data: string): string | null {
  if (SPECIAL.test(data)) return null;
  const at = data.indexOf(CONTENT);
  if (at === -1 || data.indexOf(CONTENT, at + 1) !== -1) return null;
  const from = at + CONTENT.length;
  for (let e = from; e < data.length; e++) {
    const c = data.charCodeAt(e);
    if (c === 34 /* " */) return data.slice(from, e);
    if (c < 0x20) return null;
    if (c === 92 /* \ */) {
      const next = data.charCodeAt(++e);
      if (next === 117 /* u */) {
        if (!HEX4.test(data.slice(e + 1, e + 5))) return null;
        e += 4;
      } else if (!ESCAPED.has(next)) return null;
    }
  }
  return null;
}

export class ResponsesStream implements StreamTranslator {
  private seq = 0;
  private started = false;
  /** The assistant message item: its parts (output text, a refusal) in the order they began. */
  private text: { outputIndex: number; parts: Part[] } | null = null;
  private readonly calls = new Map<number, Call>();
  private outputs = 0;
  private finish: unknown = null;
  /** The message item's id as JSON (a quoted string): every text event names it. */
  private readonly messageId: string;
  /** The start of every text delta event but its delta: written once, as deltas are most of a stream's events. */
  private textDeltaHead = "";
  /** The Response's fields that stay the same all stream long (the request's settings echoed), as JSON text. */
  private readonly settings: string;

  constructor(
    private readonly ctx: ResponsesCtx,
    private readonly meta: AnswerMeta,
  ) {
    this.messageId = JSON.stringify(messageId(meta));
    const response = responseObject(ctx, meta, { status: "", output: [], usage: null });
    this.settings = JSON.stringify({
      ...response,
      status: undefined,
      error: undefined,
      incomplete_details: undefined,
      usage: undefined,
      output: undefined,
    }).slice(1, -1);
  }

  /** Where a text event is: the message item, its output index and the part's content index. */
  private at(outputIndex: number, contentIndex: number): string {
    return `"item_id":${this.messageId},"output_index":${outputIndex},"content_index":${contentIndex}`;
  }

  /** An event whose fields (after `type`, before `sequence_number`) are already JSON text. */
  private raw(type: string, fields: string): string {
    return `event: ${type}\ndata: {"type":"${type}",${fields},"sequence_number":${this.seq++}}\n\n`;
  }

  private event(type: string, data: Json): string {
    return this.raw(type, JSON.stringify(data).slice(1, -1));
  }

  /** The Response as JSON: what changes, the settings (serialised once), and the output items given as JSON text (each serialised once). */
  private response(state: { status: string; usage: Json | null; incomplete_details?: Json | null; error?: Json | null }, output: readonly string[]): string {
    const changing = JSON.stringify({
      status: state.status,
      error: state.error ?? null,
      incomplete_details: state.incomplete_details ?? null,
      usage: state.usage,
    }).slice(1, -1);
    return `{${changing},${this.settings},"output":[${output.join(",")}]}`;
  }

  start(): string {
    if (this.started) return "";
    this.started = true;
    const response = this.response({ status: "in_progress", usage: null }, []);
    // The same object twice: serialised once.
    return `${this.raw("response.created", `"response":${response}`)}${this.raw("response.in_progress", `"response":${response}`)}`;
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
    if (typeof delta.content === "string" && delta.content) out += this.textDelta(escaped(delta.content));
    if (typeof delta.refusal === "string" && delta.refusal) out += this.textDelta(escaped(delta.refusal), "refusal");
    if (Array.isArray(delta.tool_calls)) for (const t of delta.tool_calls) if (isObject(t)) out += this.callDelta(t);
    return out;
  }

  /** `delta`: JSON string contents (escaped, without the quotes). */
  private textDelta(delta: string, type: Part["type"] = "output_text"): string {
    let out = "";
    if (!this.text) {
      this.text = { outputIndex: this.outputs++, parts: [] };
      out += this.raw(
        "response.output_item.added",
        `"output_index":${this.text.outputIndex},"item":{"type":"message","id":${this.messageId},"status":"in_progress","role":"assistant","content":[]}`,
      );
    }
    const output_index = this.text.outputIndex;
    const parts = this.text.parts;
    let content_index = parts.findIndex((p) => p.type === type);
    if (content_index === -1) {
      content_index = parts.push({ type, pieces: [] }) - 1;
      const part = type === "output_text" ? `{"type":"output_text","text":"","annotations":[],"logprobs":[]}` : `{"type":"refusal","refusal":""}`;
      out += this.raw("response.content_part.added", `${this.at(output_index, content_index)},"part":${part}`);
    }
    parts[content_index]!.pieces.push(delta);
    if (type === "refusal") return out + this.raw("response.refusal.delta", `${this.at(output_index, content_index)},"delta":"${delta}"`);
    this.textDeltaHead ||= `event: response.output_text.delta\ndata: {"type":"response.output_text.delta",${this.at(output_index, content_index)},"logprobs":[],"delta":"`;
    return `${out}${this.textDeltaHead}${delta}","sequence_number":${this.seq++}}\n\n`;
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

  /** The finished items as JSON in output order, and (when `emit`) each open item's closing events, in that order. */
  private closeItems(emit: boolean): { events: string; output: string[] } {
    const items: { outputIndex: number; item: string; close: () => string }[] = [];
    if (this.text) {
      const { outputIndex: output_index, parts } = this.text;
      const texts = parts.map((p) => p.pieces.join(""));
      const partJson = parts.map((p, i) =>
        p.type === "output_text" ? `{"type":"output_text","text":"${texts[i]}","annotations":[],"logprobs":[]}` : `{"type":"refusal","refusal":"${texts[i]}"}`,
      );
      const item = `{"type":"message","id":${this.messageId},"status":"completed","role":"assistant","content":[${partJson.join(",")}]}`;
      items.push({
        outputIndex: output_index,
        item,
        close: () => {
          let out = "";
          parts.forEach((p, content_index) => {
            const at = this.at(output_index, content_index);
            out +=
              (p.type === "output_text"
                ? this.raw("response.output_text.done", `${at},"text":"${texts[content_index]}","logprobs":[]`)
                : this.raw("response.refusal.done", `${at},"refusal":"${texts[content_index]}"`)) +
              this.raw("response.content_part.done", `${at},"part":${partJson[content_index]}`);
          });
          return out + this.raw("response.output_item.done", `"output_index":${output_index},"item":${item}`);
        },
      });
    }
    for (const c of this.calls.values()) {
      const fields = functionCallItem(this.meta, c.index, c.callId, c.name, c.args, "completed");
      const item = JSON.stringify(fields);
      const output_index = c.outputIndex;
      items.push({
        outputIndex: output_index,
        item,
        close: () =>
          this.event("response.function_call_arguments.done", { item_id: fields.id, output_index, name: c.name, arguments: c.args }) +
          this.raw("response.output_item.done", `"output_index":${output_index},"item":${item}`),
      });
    }
    items.sort((a, b) => a.outputIndex - b.outputIndex);
    return { events: emit ? items.map((i) => i.close()).join("") : "", output: items.map((i) => i.item) };
  }

  end(bill: Bill): string {
    const head = this.start();
    const { events, output } = this.closeItems(true);
    const end = ending(this.finish);
    const response = this.response({ ...end, usage: responsesUsage(bill) }, output);
    return `${head}${events}${this.raw(end.status === "completed" ? "response.completed" : "response.incomplete", `"response":${response}`)}`;
  }

  fail(error: ApiError, bill: Bill): string {
    const head = this.start();
    const { output } = this.closeItems(false);
    const response = this.response({ status: "failed", usage: responsesUsage(bill), error: { code: "server_error", message: error.message } }, output);
    return `${head}${this.raw("response.failed", `"response":${response}`)}`;
  }
}
