import { describe, expect, it } from "vitest";
import { replaceModel, SseRelay, spliceAnswer } from "./sse";
import { countText } from "../tokens/encoders";

const chunk = (content: string) =>
  `data: {"id":"c1","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"finish_reason":null}]}\n\n`;
const usage = `data: {"id":"c1","object":"chat.completion.chunk","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10,"prompt_tokens_details":{"cached_tokens":2}}}\n\n`;
const done = "data: [DONE]\n\n";

/** What the relay forwards, as bytes (a string it writes holds them as latin1). */
const bytes = (d: Buffer | string) => (typeof d === "string" ? Buffer.from(d, "latin1") : d);

function relay(pieces: string[]) {
  const out: string[] = [];
  const writes: number[] = [];
  const r = new SseRelay("chat", (d) => {
    out.push(bytes(d).toString());
    writes.push(d.length);
    return true;
  });
  for (const p of pieces) r.push(Buffer.from(p));
  return { r, text: out.join(""), writes };
}

describe("SseRelay", () => {
  it("forwards content events unchanged, counts their tokens and takes out usage and [DONE]", () => {
    const stream = chunk("") + chunk("Hello") + chunk(" world") + chunk("!") + usage + done;
    const { r, text } = relay([stream]);
    expect(text).toBe(chunk("") + chunk("Hello") + chunk(" world") + chunk("!"));
    expect(r.outputTokens).toBe(3);
    expect(r.usage).toEqual({ promptTokens: 7, completionTokens: 3, cachedTokens: 2 });
    expect(r.usageChunk).toMatchObject({ id: "c1", choices: [] });
    expect(r.sawDone).toBe(true);
    expect(r.firstTokenAt).not.toBeNull();
  });

  it("gives the same result however the bytes are split", () => {
    const stream = chunk("one") + chunk(" two") + usage + done;
    const whole = relay([stream]);
    for (const size of [1, 3, 7, 50]) {
      const parts: string[] = [];
      for (let i = 0; i < stream.length; i += size) parts.push(stream.slice(i, i + size));
      const split = relay(parts);
      expect(split.text).toBe(whole.text);
      expect(split.r.outputTokens).toBe(2);
      expect(split.r.usage).toEqual(whole.r.usage);
    }
  });

  it("writes a chunk of whole events in one write, holding back only a partial event", () => {
    const a = chunk("a") + chunk("b");
    const { writes } = relay([a + chunk("c").slice(0, 10), chunk("c").slice(10)]);
    expect(writes).toEqual([Buffer.byteLength(a), Buffer.byteLength(chunk("c"))]);
  });

  it("handles CRLF-separated events", () => {
    const crlf = (chunk("hi") + usage + done).replace(/\n\n/g, "\r\n\r\n");
    const { r, text } = relay([crlf]);
    expect(r.outputTokens).toBe(1);
    expect(r.usage?.promptTokens).toBe(7);
    expect(text).toBe(chunk("hi").replace("\n\n", "\r\n\r\n"));
  });

  it("keeps the content of a chunk that also carries usage, without the usage", () => {
    const both = `data: {"id":"c1","choices":[{"index":0,"delta":{"content":"end"}}],"usage":{"prompt_tokens":1,"completion_tokens":1,"total_tokens":2}}\n\n`;
    const { r, text } = relay([both]);
    expect(JSON.parse(text.slice(6))).toEqual({ id: "c1", choices: [{ index: 0, delta: { content: "end" } }] });
    expect(r.usage).toEqual({ promptTokens: 1, completionTokens: 1, cachedTokens: 0 });
  });

  it("ignores vLLM's usage: null on ordinary chunks", () => {
    const { r, text } = relay([`data: {"choices":[{"delta":{"content":"x"}}],"usage":null}\n\n`]);
    expect(r.usage).toBeNull();
    expect(r.outputTokens).toBe(1);
    expect(text).toContain('"usage":null');
  });

  it("counts tool-call arguments and reasoning as output too", () => {
    const r = new SseRelay("chat", () => true);
    r.push(Buffer.from(`data: {"choices":[{"delta":{"reasoning_content":"think first"}}]}\n\n`));
    r.push(Buffer.from(`data: {"choices":[{"delta":{"content":null,"tool_calls":[{"index":0,"function":{"arguments":"{\\"city\\": \\"Paris\\"}"}}]}}]}\n\n`));
    // Each field counted whole, with the default tokenizer (o200k_base).
    expect(r.outputTokens).toBe(countText("o200k_base", "think first") + countText("o200k_base", '{"city": "Paris"}'));
  });

  it("counts a key's text once, however its text looks like keys", () => {
    const text = 'a "content":"b c d" "usage":{"prompt_tokens":9}';
    const r = new SseRelay("chat", () => true);
    r.push(Buffer.from(chunk(text)));
    expect(r.outputTokens).toBe(countText("o200k_base", text));
    expect(r.usage).toBeNull();
  });

  it("counts completions' text deltas", () => {
    const r = new SseRelay("completion", () => true);
    r.push(Buffer.from(`data: {"choices":[{"text":" alpha beta"}]}\n\n`));
    expect(r.outputTokens).toBe(2);
  });

  it("counts the streamed text whole with the listing's tokenizer, not piece by piece", () => {
    // Pieces that split a word: BPE counts of the pieces would add up to more than the word's.
    const pieces = ["今天天", "气很好", "，我们去", "公园散步吧。"];
    for (const t of ["o200k_base", "llama3"] as const) {
      const r = new SseRelay("chat", () => true, Date.now, null, Infinity, t);
      for (const p of pieces) r.push(Buffer.from(chunk(p)));
      expect(r.outputTokens).toBe(countText(t, pieces.join("")));
    }
  });

  it("decodes escapes and multi-byte characters split across events before counting", () => {
    const r = new SseRelay("chat", () => true);
    const text = 'line\nbreak "quoted" é ✓ 🎉';
    for (const p of [text.slice(0, 5), text.slice(5, 18), text.slice(18)]) r.push(Buffer.from(chunk(p)));
    expect(r.outputTokens).toBe(countText("o200k_base", text));
  });
});

describe("the answer names the listing's slug, not the upstream's id", () => {
  const named = (model: string, content: string) =>
    `data: {"id":"c1","object":"chat.completion.chunk","model":${JSON.stringify(model)},"choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}}}]}\n\n`;

  it.each([
    ["an upstream id", "llama-3.1-8b-instruct"],
    ["a dated upstream id", "gpt-4o-2024-08-06"],
    ["an id with an escaped quote", 'we\\"ird'],
    ["an empty id", ""],
  ])("rewrites %s in every event, however the bytes are split", (_label, upstreamModel) => {
    const stream = named(upstreamModel, "Hello") + named(upstreamModel, ' "model":"x"') + usage + done;
    const want = named("prov/llama", "Hello") + named("prov/llama", ' "model":"x"');
    const unnamed = new SseRelay("chat", () => true);
    unnamed.push(Buffer.from(stream));
    for (const size of [1, 5, stream.length]) {
      const out: string[] = [];
      const r = new SseRelay("chat", (d) => out.push(bytes(d).toString()) > 0, Date.now, "prov/llama");
      for (let i = 0; i < stream.length; i += size) r.push(Buffer.from(stream.slice(i, i + size)));
      expect(out.join("")).toBe(want);
      expect(r.outputTokens).toBe(unnamed.outputTokens);
    }
  });

  it("renames in CRLF-separated streams and keeps everything else byte for byte", () => {
    const crlf = (named("up-id", "é\u00e9 ✓") + named("up-id", "b") + usage + done).replace(/\n\n/g, "\r\n\r\n");
    const out: string[] = [];
    const r = new SseRelay("chat", (d) => out.push(bytes(d).toString()) > 0, Date.now, "prov/llamä");
    r.push(Buffer.from(crlf));
    expect(out.join("")).toBe((named("prov/llamä", "é\u00e9 ✓") + named("prov/llamä", "b")).replace(/\n\n/g, "\r\n\r\n"));
    expect(r.usage?.promptTokens).toBe(7);
  });

  it("leaves an event alone (zero-copy) when it already names the slug, and a usage chunk gets the slug", () => {
    const writes: (Buffer | string)[] = [];
    const r = new SseRelay("chat", (d) => writes.push(d) > 0, Date.now, "prov/llama");
    const event = Buffer.from(named("prov/llama", "hi"));
    r.push(event);
    expect(writes[0]).toBe(event);
    r.push(Buffer.from(`data: {"id":"c1","model":"up","choices":[],"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n`));
    expect(r.usageChunk).toMatchObject({ model: "prov/llama" });
  });

  it.each([
    [
      "compact JSON",
      '{"id":"x","model":"up-id","choices":[{"message":{"content":"\\"model\\":\\"no\\""}}]}',
      '{"id":"x","model":"prov/m","choices":[{"message":{"content":"\\"model\\":\\"no\\""}}]}',
    ],
    ["a space after the colon", '{"model": "up-id","data":[]}', '{"model": "prov/m","data":[]}'],
    ["no model key", '{"id":"x"}', '{"id":"x"}'],
    ["a model that is not a string", '{"model":null}', '{"model":null}'],
  ])("replaceModel: %s", (_label, raw, want) => {
    expect(replaceModel(Buffer.from(raw), "prov/m").toString()).toBe(want);
  });

  it.each([
    ["model before usage", '{"model":"up-id","usage":{"prompt_tokens":1}}', '{"model":"prov/m","usage":{"cost":"0.1","prompt_tokens":1}}'],
    ["model after usage", '{"usage":{"prompt_tokens":1},"model":"up-id"}', '{"usage":{"cost":"0.1","prompt_tokens":1},"model":"prov/m"}'],
    ["the slug already", '{"model":"prov/m","usage":{"prompt_tokens":1}}', '{"model":"prov/m","usage":{"cost":"0.1","prompt_tokens":1}}'],
    ["no model", '{"usage":{"prompt_tokens":1}}', '{"usage":{"cost":"0.1","prompt_tokens":1}}'],
  ])("spliceAnswer: %s", (_label, raw, want) => {
    const at = raw.indexOf('"usage":{') + '"usage":{'.length;
    expect(spliceAnswer(Buffer.from(raw), "prov/m", at, '"cost":"0.1",').toString()).toBe(want);
  });
});

describe("hostile shapes stay linear", () => {
  it("reads a chunk of many quote-less events and one long quote-less event quickly", () => {
    const many = "data: 1\n\n".repeat(200_000) + `data: {"model":"x","choices":[{"delta":{"content":"hi"}}]}\n\n`;
    const r = new SseRelay("chat", () => true, Date.now, "prov/m");
    const started = performance.now();
    r.push(Buffer.from(many));
    r.push(Buffer.from(`data: ${"1".repeat(500_000)}\n\n`));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(r.outputTokens).toBe(1);
  });
});
