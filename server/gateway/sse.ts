import { countJsonStringTokens, countTextTokens } from "./tokens";

/**
 * Relays an upstream's SSE stream to the client event by event, without
 * buffering beyond the event being received: complete events go out as soon
 * as they arrive (in one write, zero-copy, when none needs changing), while
 * the meter counts the tokens streamed so far (content, tool-call arguments, reasoning) (for billing a
 * disconnect or an upstream that sends no usage), notes when the first one
 * came, and takes out the usage chunk and the closing `[DONE]`; the proxy adds
 * those back at the end, the usage with its cost, and only if the client asked.
 * Each event's `model` becomes the listing's slug (what the caller asked for, as
 * OpenRouter answers), not the upstream's own id.
 */

export type UpstreamUsage = { promptTokens: number; completionTokens: number; cachedTokens: number };

const USAGE = Buffer.from('"usage":');
const MODEL = Buffer.from('"model":');
const EVENT_END = Buffer.from("\n\n");
// What a model generates, by endpoint: chat text, tool-call arguments and reasoning (all billed as output).
const CHAT_KEYS = ['"content":"', '"arguments":"', '"reasoning_content":"'].map((k) => Buffer.from(k));
const TEXT_KEYS = [Buffer.from('"text":"')];
/** Marks the second byte of each key (the first is the quote): a table lookup before comparing keys. */
function keyStarts(keys: Buffer[]): Uint8Array {
  const t = new Uint8Array(256);
  for (const k of keys) t[k[1]!] = 1;
  return t;
}
const CHAT_STARTS = keyStarts(CHAT_KEYS);
const TEXT_STARTS = keyStarts(TEXT_KEYS);

function matches(data: Buffer, at: number, key: Buffer): boolean {
  for (let j = 0; j < key.length; j++) if (data[at + j] !== key[j]) return false;
  return true;
}

/** Reads an OpenAI usage object (chat, completions or embeddings). Null when absent or malformed. */
export function readUsage(u: unknown): UpstreamUsage | null {
  if (!u || typeof u !== "object") return null;
  const o = u as { prompt_tokens?: unknown; completion_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } | null };
  // An upstream's counts are data to check: non-negative safe integers or the whole usage is ignored (and counted by us).
  const int = (v: unknown) => (typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null);
  const prompt = int(o.prompt_tokens);
  const completion = o.completion_tokens === undefined ? 0 : int(o.completion_tokens);
  const details = o.prompt_tokens_details;
  const cached = details === undefined || details === null || details.cached_tokens === undefined || details.cached_tokens === null ? 0 : int(details.cached_tokens);
  if (prompt === null || completion === null || cached === null) return null;
  return { promptTokens: prompt, completionTokens: completion, cachedTokens: Math.min(prompt, cached) };
}

/** Index of the quote closing the JSON string that starts at `from`, or -1 before `end`. */
function stringEnd(data: Buffer, from: number, end: number): number {
  let e = from;
  while (e < end && data[e] !== 34 /* " */) e += data[e] === 92 /* \ */ ? 2 : 1;
  return e < end ? e : -1;
}

/** The value of a `"model":` key at `at` as [first byte, closing quote], or null when it is not a string. */
function modelValue(data: Buffer, at: number, end: number): [number, number] | null {
  let s = at + MODEL.length;
  while (data[s] === 32) s++;
  if (data[s] !== 34) return null;
  const e = stringEnd(data, s + 1, end);
  return e === -1 ? null : [s + 1, e];
}

/** JSON string bytes of a model name, without the quotes. */
function modelBytes(model: string): Buffer {
  return Buffer.from(JSON.stringify(model).slice(1, -1));
}

/**
 * A JSON answer with its top-level `model` set to `model`, spliced without re-serialising. In
 * OpenAI answers the first `"model":` is the top-level key: quotes inside strings are escaped.
 */
export function replaceModel(raw: Buffer, model: string): Buffer {
  const at = raw.indexOf(MODEL);
  const span = at === -1 ? null : modelValue(raw, at, raw.length);
  if (!span) return raw;
  const bytes = modelBytes(model);
  if (bytes.equals(raw.subarray(span[0], span[1]))) return raw;
  return Buffer.concat([raw.subarray(0, span[0]), bytes, raw.subarray(span[1])]);
}

export class SseRelay {
  outputTokens = 0;
  firstTokenAt: number | null = null;
  usage: UpstreamUsage | null = null;
  /** The upstream's usage chunk, kept as the template for the one sent back (with cost). */
  usageChunk: Record<string, unknown> | null = null;
  sawDone = false;
  /** The unfinished event outgrew `maxEventBytes`: the stream must end (its rest is dropped). */
  overflow = false;
  private pending: Buffer | null = null;
  private readonly keys: Buffer[];
  private readonly starts: Uint8Array;
  private readonly modelBytes: Buffer | null;

  constructor(
    endpoint: "chat" | "completion",
    private readonly write: (data: Buffer | string) => boolean,
    private readonly now: () => number = Date.now,
    /** The name each event's `model` is given; upstream names pass through when null. */
    private readonly model: string | null = null,
    private readonly maxEventBytes = Infinity,
  ) {
    this.keys = endpoint === "chat" ? CHAT_KEYS : TEXT_KEYS;
    this.starts = endpoint === "chat" ? CHAT_STARTS : TEXT_STARTS;
    this.modelBytes = model === null ? null : modelBytes(model);
  }

  /** Feeds one upstream chunk; returns false when the client's socket wants a pause. */
  push(chunk: Buffer): boolean {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let pos = 0;
    let runStart = 0;
    // What goes out for this chunk, written once: a socket write per changed event costs more than a copy.
    const out: Buffer[] = [];
    const len = data.length;
    // One pass in plain JS over the bytes: per-event native indexOf calls cost more than they save.
    for (let i = 0; i < len; i++) {
      if (data[i] !== 10) continue;
      let next: number;
      if (data[i + 1] === 10) next = i + 2;
      else if (data[i - 1] === 13 && data[i + 1] === 13 && data[i + 2] === 10) next = i + 3;
      else continue;
      const keep = this.inspect(data, pos, data[i - 1] === 13 ? i - 1 : i);
      if (keep !== true) {
        if (pos > runStart) out.push(data.subarray(runStart, pos));
        if (Array.isArray(keep)) out.push(...keep);
        else if (keep !== false) out.push(typeof keep === "string" ? Buffer.from(keep) : keep);
        runStart = next;
      }
      pos = next;
      i = next - 1;
    }
    if (pos > runStart) out.push(runStart === 0 && pos === len ? data : data.subarray(runStart, pos));
    if (pos < len) {
      if (len - pos > this.maxEventBytes) this.overflow = true;
      else this.pending = Buffer.from(data.subarray(pos));
    }
    if (out.length === 0) return true;
    return this.write(out.length === 1 ? out[0]! : Buffer.concat(out));
  }

  /** true: forward unchanged; false: drop; otherwise forward this (or these parts) instead. Plain byte compares: this runs per event. */
  private inspect(data: Buffer, start: number, end: number): boolean | string | Buffer[] {
    // "data:" then an optional space
    if (data[start] !== 100 || data[start + 1] !== 97 || data[start + 2] !== 116 || data[start + 3] !== 97 || data[start + 4] !== 58) return true;
    let p = start + 5;
    if (data[p] === 32) p++;
    if (data[p] === 91 /* [ */ && data[p + 1] === 68 /* D */ && data[p + 2] === 79 && data[p + 3] === 78 && data[p + 4] === 69 && data[p + 5] === 93) {
      this.sawDone = true;
      return false;
    }
    let model: [number, number] | null = null;
    for (let i = p; i < end; i++) {
      if (data[i] !== 34 /* " */) continue;
      const c = data[i + 1];
      if (c === 109 /* m */ && model === null && this.modelBytes && matches(data, i, MODEL)) {
        model = modelValue(data, i, end);
        if (model) i = model[1];
      } else if (c === 117 /* u */ && matches(data, i, USAGE)) {
        // A non-null usage object: parse the event (once per stream) and take the usage out.
        let q = i + USAGE.length;
        while (data[q] === 32) q++;
        if (data[q] === 123 /* { */) return this.takeUsage(data.subarray(p, end));
      } else if (c !== undefined && this.starts[c] === 1) {
        const keys = this.keys;
        let key: Buffer | null = null;
        for (let j = 0; j < keys.length && key === null; j++) if (matches(data, i, keys[j]!)) key = keys[j]!;
        if (key === null) continue;
        const s = i + key.length;
        let e = s;
        while (e < end && data[e] !== 34 /* " */) e += data[e] === 92 /* \ */ ? 2 : 1;
        if (e > s) {
          const n = countJsonStringTokens(data, s, Math.min(e, end));
          if (n > 0) {
            this.outputTokens += n;
            this.firstTokenAt ??= this.now();
          }
        }
        i = e;
      }
    }
    const name = this.modelBytes;
    if (!model || !name || name.equals(data.subarray(model[0], model[1]))) return true;
    return [data.subarray(start, model[0]), name, data.subarray(model[1], end), EVENT_END];
  }

  private takeUsage(event: Buffer): boolean | string {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(event.toString("utf8")) as Record<string, unknown>;
    } catch {
      return true;
    }
    this.usage = readUsage(parsed.usage) ?? this.usage;
    if (this.model !== null && typeof parsed.model === "string") parsed.model = this.model;
    const choices = parsed.choices;
    if (Array.isArray(choices) && choices.length > 0) {
      // Usage riding on a content chunk: forward the content, keep the usage for the end.
      this.usageChunk = { ...parsed, choices: [] };
      const rest = { ...parsed };
      delete rest.usage;
      for (const c of choices as { delta?: { content?: unknown }; text?: unknown }[]) {
        const text = typeof c.delta?.content === "string" ? c.delta.content : typeof c.text === "string" ? c.text : "";
        if (!text) continue;
        this.outputTokens += countTextTokens(text);
        this.firstTokenAt ??= this.now();
      }
      return `data: ${JSON.stringify(rest)}\n\n`;
    }
    this.usageChunk = parsed;
    return false;
  }
}
