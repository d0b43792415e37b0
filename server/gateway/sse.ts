import { countJsonStringTokens, countTextTokens } from "./tokens";

/**
 * Relays an upstream's SSE stream to the client event by event, without
 * buffering beyond the event being received: complete events go out as soon
 * as they arrive (in one write, zero-copy, when none needs changing), while
 * the meter counts the tokens streamed so far (content, tool-call arguments, reasoning) (for billing a
 * disconnect or an upstream that sends no usage), notes when the first one
 * came, and takes out the usage chunk and the closing `[DONE]`; the proxy adds
 * those back at the end, the usage with its cost, and only if the client asked.
 */

export type UpstreamUsage = { promptTokens: number; completionTokens: number; cachedTokens: number };

const USAGE = Buffer.from('"usage":');
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

  constructor(
    endpoint: "chat" | "completion",
    private readonly write: (data: Buffer | string) => boolean,
    private readonly now: () => number = Date.now,
    private readonly maxEventBytes = Infinity,
  ) {
    this.keys = endpoint === "chat" ? CHAT_KEYS : TEXT_KEYS;
    this.starts = endpoint === "chat" ? CHAT_STARTS : TEXT_STARTS;
  }

  /** Feeds one upstream chunk; returns false when the client's socket wants a pause. */
  push(chunk: Buffer): boolean {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    let pos = 0;
    let runStart = 0;
    let ok = true;
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
        if (pos > runStart) ok = this.write(data.subarray(runStart, pos)) && ok;
        if (keep !== false) ok = this.write(keep) && ok;
        runStart = next;
      }
      pos = next;
      i = next - 1;
    }
    if (pos > runStart) ok = this.write(runStart === 0 && pos === len ? data : data.subarray(runStart, pos)) && ok;
    if (pos < len) {
      if (len - pos > this.maxEventBytes) this.overflow = true;
      else this.pending = Buffer.from(data.subarray(pos));
    }
    return ok;
  }

  /** true: forward unchanged; false: drop; a string: forward this instead. Plain byte compares: this runs per event. */
  private inspect(data: Buffer, start: number, end: number): boolean | string {
    // "data:" then an optional space
    if (data[start] !== 100 || data[start + 1] !== 97 || data[start + 2] !== 116 || data[start + 3] !== 97 || data[start + 4] !== 58) return true;
    let p = start + 5;
    if (data[p] === 32) p++;
    if (data[p] === 91 /* [ */ && data[p + 1] === 68 /* D */ && data[p + 2] === 79 && data[p + 3] === 78 && data[p + 4] === 69 && data[p + 5] === 93) {
      this.sawDone = true;
      return false;
    }
    for (let i = p; i < end; i++) {
      if (data[i] !== 34 /* " */) continue;
      const c = data[i + 1];
      if (c === 117 /* u */ && matches(data, i, USAGE)) {
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
    return true;
  }

  private takeUsage(event: Buffer): boolean | string {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(event.toString("utf8")) as Record<string, unknown>;
    } catch {
      return true;
    }
    this.usage = readUsage(parsed.usage) ?? this.usage;
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
