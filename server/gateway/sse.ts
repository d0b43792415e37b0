import { energyField, stringValueAt } from "./finish-energy";
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

const MODEL = Buffer.from('"model":');
// Key names as they stand before their `":`, opening quote included.
const USAGE_NAME = Buffer.from('"usage');
const MODEL_NAME = Buffer.from('"model');
const FINISH_NAME = Buffer.from('"finish_reason');
// What a model generates, by endpoint: chat text, tool-call arguments and reasoning (all billed as output).
const CHAT_KEYS = ['"content', '"arguments', '"reasoning_content'].map((k) => Buffer.from(k));
const TEXT_KEYS = [Buffer.from('"text')];
/** Marks the last byte of each key name: a table lookup before comparing names. */
function keyEnds(keys: Buffer[]): Uint8Array {
  const t = new Uint8Array(256);
  for (const k of keys) t[k[k.length - 1]!] = 1;
  return t;
}
const CHAT_ENDS = keyEnds(CHAT_KEYS);
const TEXT_ENDS = keyEnds(TEXT_KEYS);

/** Whether `name` stands in `data` right before `at`, starting no earlier than `from`. */
function endsAt(data: Buffer, at: number, name: Buffer, from: number): boolean {
  const s = at - name.length;
  if (s < from) return false;
  for (let j = 0; j < name.length; j++) if (data[s + j] !== name[j]) return false;
  return true;
}

/** An upstream's counts are data to check: non-negative safe integers or the whole usage is ignored (and counted by us). */
function int(v: unknown): number | null {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/** Reads an OpenAI usage object (chat, completions or embeddings). Null when absent or malformed. */
export function readUsage(u: unknown): UpstreamUsage | null {
  if (!u || typeof u !== "object") return null;
  const o = u as { prompt_tokens?: unknown; completion_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } | null };
  const prompt = int(o.prompt_tokens);
  const completion = o.completion_tokens === undefined ? 0 : int(o.completion_tokens);
  const details = o.prompt_tokens_details;
  const cached =
    details === undefined || details === null || details.cached_tokens === undefined || details.cached_tokens === null ? 0 : int(details.cached_tokens);
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

/** A model name as JSON string contents (without the quotes): its bytes, and the same bytes as latin1 text. */
type ModelName = { bytes: Buffer; latin1: string };
// Per slug, made once: every answer is renamed to its listing's slug, and listings are few.
const modelNames = new Map<string, ModelName>();
function modelName(model: string): ModelName {
  let n = modelNames.get(model);
  if (!n) {
    if (modelNames.size >= 10_000) modelNames.clear();
    const bytes = Buffer.from(JSON.stringify(model).slice(1, -1));
    n = { bytes, latin1: bytes.toString("latin1") };
    modelNames.set(model, n);
  }
  return n;
}

/**
 * A JSON answer with its top-level `model` set to `model`, spliced without re-serialising. In
 * OpenAI answers the first `"model":` is the top-level key: quotes inside strings are escaped.
 */
export function replaceModel(raw: Buffer, model: string): Buffer {
  const at = raw.indexOf(MODEL);
  const span = at === -1 ? null : modelValue(raw, at, raw.length);
  if (!span) return raw;
  const bytes = modelName(model).bytes;
  if (bytes.equals(raw.subarray(span[0], span[1]))) return raw;
  return Buffer.concat([raw.subarray(0, span[0]), bytes, raw.subarray(span[1])]);
}

/**
 * replaceModel(`raw` with `insert` put in at byte `at`), in one copy: for a JSON answer that
 * also gets its cost spliced into its usage object (at cannot fall inside a string value).
 */
export function spliceAnswer(raw: Buffer, model: string, at: number, insert: string): Buffer {
  const add = Buffer.from(insert);
  const m = raw.indexOf(MODEL);
  const span = m === -1 ? null : modelValue(raw, m, raw.length);
  const name = span && modelName(model).bytes;
  if (!span || !name || name.equals(raw.subarray(span[0], span[1]))) return Buffer.concat([raw.subarray(0, at), add, raw.subarray(at)]);
  if (span[1] <= at) return Buffer.concat([raw.subarray(0, span[0]), name, raw.subarray(span[1], at), add, raw.subarray(at)]);
  if (span[0] >= at) return Buffer.concat([raw.subarray(0, at), add, raw.subarray(at, span[0]), name, raw.subarray(span[1])]);
  return replaceModel(Buffer.concat([raw.subarray(0, at), add, raw.subarray(at)]), model);
}

export class SseRelay {
  outputTokens = 0;
  firstTokenAt: number | null = null;
  usage: UpstreamUsage | null = null;
  /** The upstream's usage chunk, kept as the template for the one sent back (with cost). */
  usageChunk: Record<string, unknown> | null = null;
  /** The last finish reason the stream carried (its own spelling). */
  finishReason: string | null = null;
  /** `usage.energy_joules` of the usage chunk, unchecked. */
  energyJoules: unknown;
  sawDone = false;
  /** The unfinished event outgrew `maxEventBytes`: the stream must end (its rest is dropped). */
  overflow = false;
  private pending: Buffer | null = null;
  private readonly keys: Buffer[];
  private readonly ends: Uint8Array;
  /** The slug as JSON string contents in latin1 text (its bytes, one char each). */
  private readonly modelName: string | null;

  constructor(
    endpoint: "chat" | "completion",
    /** Gets the bytes to forward: a Buffer, or a string holding them as latin1 (one char per byte). */
    private readonly write: (data: Buffer | string) => boolean,
    private readonly now: () => number = Date.now,
    /** The name each event's `model` is given; upstream names pass through when null. */
    private readonly model: string | null = null,
    private readonly maxEventBytes = Infinity,
  ) {
    this.keys = endpoint === "chat" ? CHAT_KEYS : TEXT_KEYS;
    this.ends = endpoint === "chat" ? CHAT_ENDS : TEXT_ENDS;
    this.modelName = model === null ? null : modelName(model).latin1;
  }

  /**
   * Feeds one upstream chunk; returns false when the client's socket wants a pause. The chunk
   * is also read as latin1 text (a copy at memcpy speed) so that V8's string search finds line
   * ends and key ends (far cheaper than a byte loop in JS) at the same offsets as in the bytes.
   */
  push(chunk: Buffer): boolean {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    const len = data.length;
    const text = data.toString("latin1");
    this.nextKey = -2;
    let pos = 0;
    // What goes out for this chunk (written once: a socket write per changed event costs more than a copy):
    // the chunk's bytes from `runStart` on, after `out` when something was changed. A changed chunk goes
    // out as latin1 text: string slices and one flat copy on the V8 heap, where a Buffer would be a new
    // ArrayBuffer per chunk for the collector to track and free.
    let runStart = 0;
    let out = "";
    let changed = false;
    for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) {
      let next: number;
      if (text.charCodeAt(i + 1) === 10) next = i + 2;
      else if (text.charCodeAt(i - 1) === 13 && text.charCodeAt(i + 1) === 13 && text.charCodeAt(i + 2) === 10) next = i + 3;
      else continue;
      const end = text.charCodeAt(i - 1) === 13 ? i - 1 : i;
      const keep = this.inspect(text, data, pos, end);
      if (keep !== true) {
        changed = true;
        if (typeof keep === "number") {
          // Rename the model: the event up to its model's value, the slug; the rest goes on in the run.
          out += text.slice(runStart, keep) + this.modelName!;
          runStart = this.modelEnd;
        } else {
          out += text.slice(runStart, pos);
          if (keep !== false) out += Buffer.from(keep).toString("latin1");
          runStart = next;
        }
      }
      pos = next;
      i = next - 1;
    }
    if (pos < len) {
      if (len - pos > this.maxEventBytes) this.overflow = true;
      else this.pending = Buffer.from(data.subarray(pos));
    }
    if (!changed) return pos === 0 ? true : this.write(pos === len ? data : data.subarray(0, pos));
    out += text.slice(runStart, pos);
    return out.length === 0 ? true : this.write(out);
  }

  /** Where the model value being renamed ends (set when inspect returns a position). */
  private modelEnd = 0;
  /** In the chunk being read: the first `":` after the last event read (-1: none left, -2: not searched). */
  private nextKey = -2;

  /**
   * true: forward unchanged; false: drop; a string: forward it instead; a number: forward it
   * with the model value from there to `modelEnd` replaced by the slug. Counts the event's
   * output tokens. Plain byte compares in one pass: this runs per event.
   */
  private inspect(text: string, data: Buffer, start: number, end: number): boolean | string | number {
    if (!text.startsWith("data:", start)) return true;
    let p = start + 5;
    if (data[p] === 32) p++;
    if (text.startsWith("[DONE]", p)) {
      this.sawDone = true;
      return false;
    }
    let model: [number, number] | null = null;
    const renaming = this.modelName !== null;
    // Visit the event's keys by the `":` that ends each (one string search per key, not a look at every
    // byte or quote) and tell the few that matter by the name before it. Inside a JSON string every
    // quote is escaped, so a name match there is impossible. The first `":` past the previous event,
    // when that search already found it, is reused: each stretch of text is searched once, however
    // many key-less events a chunk holds.
    let q = this.nextKey === -1 || this.nextKey >= p ? this.nextKey : text.indexOf('":', p);
    for (; q !== -1 && q < end; q = text.indexOf('":', q + 2)) {
      const last = data[q - 1]!;
      if (last === 108 /* l */ && model === null && renaming && endsAt(data, q, MODEL_NAME, p)) {
        model = modelValue(data, q - MODEL_NAME.length, end);
        if (model) q = model[1] - 1;
      } else if (last === 101 /* e */ && endsAt(data, q, USAGE_NAME, p)) {
        // A non-null usage object: parse the event (once per stream) and take the usage out.
        let u = q + 2;
        while (data[u] === 32) u++;
        if (data[u] === 123 /* { */) return this.takeUsage(data.subarray(p, end));
      } else if (last === 110 /* n */ && endsAt(data, q, FINISH_NAME, p)) {
        this.finishReason = stringValueAt(data, q + 2, end) ?? this.finishReason;
      } else if (this.ends[last] === 1 && data[q + 2] === 34 /* " */) {
        const keys = this.keys;
        let key: Buffer | null = null;
        for (let j = 0; j < keys.length && key === null; j++) if (endsAt(data, q, keys[j]!, p)) key = keys[j]!;
        if (key === null) continue;
        const s = q + 3;
        let e = s;
        while (e < end && data[e] !== 34 /* " */) e += data[e] === 92 /* \ */ ? 2 : 1;
        if (e > s) {
          const n = countJsonStringTokens(data, s, Math.min(e, end));
          if (n > 0) {
            this.outputTokens += n;
            this.firstTokenAt ??= this.now();
          }
        }
        q = e - 1;
      }
    }
    this.nextKey = q;
    const name = this.modelName;
    if (!model || name === null || (model[1] - model[0] === name.length && text.startsWith(name, model[0]))) return true;
    this.modelEnd = model[1];
    return model[0];
  }

  private takeUsage(event: Buffer): boolean | string {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(event.toString("utf8")) as Record<string, unknown>;
    } catch {
      return true;
    }
    this.usage = readUsage(parsed.usage) ?? this.usage;
    this.energyJoules = energyField(parsed.usage) ?? this.energyJoules;
    if (this.model !== null && typeof parsed.model === "string") parsed.model = this.model;
    const choices = parsed.choices;
    if (Array.isArray(choices) && choices.length > 0) {
      // Usage riding on a content chunk: forward the content, keep the usage for the end.
      this.usageChunk = { ...parsed, choices: [] };
      const rest = { ...parsed };
      delete rest.usage;
      for (const c of choices as { delta?: { content?: unknown }; text?: unknown; finish_reason?: unknown }[]) {
        if (typeof c.finish_reason === "string") this.finishReason = c.finish_reason;
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
