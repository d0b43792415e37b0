import { countJsonStringTokens } from "./tokens";

/**
 * Relays an upstream's SSE stream to the client event by event, without
 * buffering beyond the event being received: complete events go out as soon
 * as they arrive (in one write, zero-copy, when none needs changing), while
 * the meter counts the content tokens streamed so far (for billing a
 * disconnect or an upstream that sends no usage), notes when the first one
 * came, and takes out the usage chunk and the closing `[DONE]`; the proxy adds
 * those back at the end, the usage with its cost, and only if the client asked.
 */

export type UpstreamUsage = { promptTokens: number; completionTokens: number; cachedTokens: number };

const LF2 = Buffer.from("\n\n");
const CRLF2 = Buffer.from("\r\n\r\n");
const USAGE = Buffer.from('"usage":');
const DONE = Buffer.from("[DONE]");
const DATA = Buffer.from("data:");

/** Reads an OpenAI usage object (chat, completions or embeddings). Null when absent or malformed. */
export function readUsage(u: unknown): UpstreamUsage | null {
  if (!u || typeof u !== "object") return null;
  const o = u as { prompt_tokens?: unknown; completion_tokens?: unknown; prompt_tokens_details?: { cached_tokens?: unknown } | null };
  const int = (v: unknown) => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null);
  const prompt = int(o.prompt_tokens);
  if (prompt === null) return null;
  return { promptTokens: prompt, completionTokens: int(o.completion_tokens) ?? 0, cachedTokens: Math.min(prompt, int(o.prompt_tokens_details?.cached_tokens) ?? 0) };
}

export class SseRelay {
  outputTokens = 0;
  firstTokenAt: number | null = null;
  usage: UpstreamUsage | null = null;
  /** The upstream's usage chunk, kept as the template for the one sent back (with cost). */
  usageChunk: Record<string, unknown> | null = null;
  sawDone = false;
  private pending: Buffer | null = null;
  private sep: Buffer | null = null;
  private readonly contentKey: Buffer;

  constructor(
    endpoint: "chat" | "completion",
    private readonly write: (data: Buffer | string) => boolean,
    private readonly now: () => number = Date.now,
  ) {
    this.contentKey = Buffer.from(endpoint === "chat" ? '"content":"' : '"text":"');
  }

  /** Feeds one upstream chunk; returns false when the client's socket wants a pause. */
  push(chunk: Buffer): boolean {
    const data = this.pending ? Buffer.concat([this.pending, chunk]) : chunk;
    this.pending = null;
    this.sep ??= data.includes("\r\n") ? CRLF2 : LF2;
    const sep = this.sep;
    let pos = 0;
    let runStart = 0;
    let ok = true;
    for (;;) {
      const end = data.indexOf(sep, pos);
      if (end === -1) break;
      const next = end + sep.length;
      const keep = this.inspect(data, pos, end);
      if (keep !== true) {
        if (pos > runStart) ok = this.write(data.subarray(runStart, pos)) && ok;
        if (keep !== false) ok = this.write(keep) && ok;
        runStart = next;
      }
      pos = next;
    }
    if (pos > runStart) ok = this.write(runStart === 0 && pos === data.length ? data : data.subarray(runStart, pos)) && ok;
    if (pos < data.length) this.pending = Buffer.from(data.subarray(pos));
    return ok;
  }

  /** true: forward unchanged; false: drop; a string: forward this instead. */
  private inspect(data: Buffer, start: number, end: number): boolean | string {
    let p = start;
    if (data.indexOf(DATA, p) !== p) return true;
    p += DATA.length;
    if (data[p] === 32) p++;
    if (data.indexOf(DONE, p) === p && p + DONE.length <= end) {
      this.sawDone = true;
      return false;
    }
    const event = data.subarray(p, end);
    const u = event.indexOf(USAGE);
    if (u !== -1) {
      // A non-null usage object: parse the event (once per stream) and take the usage out.
      let q = u + USAGE.length;
      while (event[q] === 32) q++;
      if (event[q] === 123 /* { */) return this.takeUsage(event);
    }
    let from = 0;
    for (;;) {
      const at = event.indexOf(this.contentKey, from);
      if (at === -1) break;
      const s = at + this.contentKey.length;
      let e = s;
      while (e < event.length && event[e] !== 34 /* " */) e += event[e] === 92 /* \ */ ? 2 : 1;
      const n = countJsonStringTokens(event, s, Math.min(e, event.length));
      if (n > 0) {
        this.outputTokens += n;
        this.firstTokenAt ??= this.now();
      }
      from = e + 1;
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
      const { usage: _usage, ...rest } = parsed;
      for (const c of choices as { delta?: { content?: unknown }; text?: unknown }[]) {
        const text = typeof c.delta?.content === "string" ? c.delta.content : typeof c.text === "string" ? c.text : "";
        if (text) this.firstTokenAt ??= this.now();
      }
      return `data: ${JSON.stringify(rest)}\n\n`;
    }
    this.usageChunk = parsed;
    return false;
  }
}
