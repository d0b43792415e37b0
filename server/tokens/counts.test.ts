import { getEncoding } from "js-tiktoken";
import { countChatCompletionTokens } from "gpt-tokenizer/model/gpt-4o";
import { describe, expect, it } from "vitest";
import { CORPUS, WEATHER_TOOL } from "./corpus";
import expected from "./corpus-counts.json";
import { countText } from "./encoders";
import { imageTokens, inlineImageSize } from "./images";
import { chatPromptTokens, NON_TEXT_PART_TOKENS, textInputTokens } from "./prompt";
import { DEFAULT_TOKENIZER, TOKENIZERS, tokenizerOf } from "./rules";

const counts = expected as Record<string, Record<string, number>>;

describe("text counts equal each reference tokenizer's on the labelled corpus", () => {
  for (const t of TOKENIZERS) {
    it.each(CORPUS)(`${t}: $label`, ({ label, text }) => {
      expect(countText(t, text)).toBe(counts[label]![t]);
    });
  }

  it("js-tiktoken, a second implementation of OpenAI's encodings, agrees on every entry", () => {
    for (const t of ["o200k_base", "cl100k_base"] as const) {
      const tiktoken = getEncoding(t);
      for (const { label, text } of CORPUS) expect(tiktoken.encode(text, [], []).length, `${t}: ${label}`).toBe(counts[label]![t]);
    }
  });

  it("long texts (counted once, then from the cache) count the same every time", () => {
    const long = CORPUS.map((c) => c.text)
      .join("\n")
      .repeat(20);
    const first = countText("llama3", long);
    expect(first).toBeGreaterThan(1000);
    expect(countText("llama3", `${long}`)).toBe(first);
    expect(countText("o200k_base", long)).not.toBe(first);
  });

  it("an unknown or unset tokenizer falls back to o200k_base", () => {
    expect(DEFAULT_TOKENIZER).toBe("o200k_base");
    expect(tokenizerOf("gemma3")).toBe("o200k_base");
    expect(tokenizerOf(undefined)).toBe("o200k_base");
    expect(tokenizerOf("llama3")).toBe("llama3");
  });
});

const q = CORPUS[0]!.text;

describe("chat prompts by OpenAI's documented rules", () => {
  it("each message costs 3 plus its role and content, a name 1 more, and the reply is primed with 3", () => {
    const t = "o200k_base";
    const c = (s: string) => countText(t, s);
    expect(chatPromptTokens(t, { messages: [{ role: "user", content: q }] })).toBe(3 + c("user") + c(q) + 3);
    expect(
      chatPromptTokens(t, {
        messages: [
          { role: "system", content: "Be brief." },
          { role: "user", name: "ana", content: [{ type: "text", text: q }] },
        ],
      }),
    ).toBe(3 + c("system") + c("Be brief.") + 3 + c("user") + c(q) + c("ana") + 1 + 3);
  });

  it("function definitions and a system message count as gpt-tokenizer's reference for gpt-4o counts them", () => {
    const messages = [
      { role: "system", content: "You are a weather bot." },
      { role: "user", content: "Weather in Lisbon?" },
    ];
    const reference = countChatCompletionTokens!({ messages, functions: [WEATHER_TOOL.function] as never });
    expect(chatPromptTokens("o200k_base", { messages, tools: [WEATHER_TOOL] })).toBe(reference);
    expect(chatPromptTokens("o200k_base", { messages, functions: [WEATHER_TOOL.function] })).toBe(reference);
    // A forced tool costs its name plus 4; "none" costs 1; "auto" nothing.
    const forced = { type: "function", function: { name: "get_weather" } };
    expect(chatPromptTokens("o200k_base", { messages, tools: [WEATHER_TOOL], tool_choice: forced })).toBe(
      reference + countText("o200k_base", "get_weather") + 4,
    );
    expect(chatPromptTokens("o200k_base", { messages, tools: [WEATHER_TOOL], tool_choice: "none" })).toBe(reference + 1);
    expect(chatPromptTokens("o200k_base", { messages, tools: [WEATHER_TOOL], tool_choice: "auto" })).toBe(reference);
  });

  it("tool calls cost their name and arguments plus 3; tool results count as content", () => {
    const t = "llama3";
    const c = (s: string) => countText(t, s);
    const args = '{"city":"Lisbon"}';
    const call = { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: args } }] };
    const result = { role: "tool", tool_call_id: "c1", content: "18 °C and sunny" };
    expect(chatPromptTokens(t, { messages: [call, result] })).toBe(
      3 + c("assistant") + c("get_weather") + c(args) + 3 + 3 + c("tool") + c("18 °C and sunny") + 3,
    );
  });

  it("a JSON schema response format counts as its JSON text", () => {
    const schema = { name: "weather", schema: WEATHER_TOOL.function.parameters };
    const plain = chatPromptTokens("cl100k_base", { messages: [{ role: "user", content: q }] });
    expect(chatPromptTokens("cl100k_base", { messages: [{ role: "user", content: q }], response_format: { type: "json_schema", json_schema: schema } })).toBe(
      plain + countText("cl100k_base", JSON.stringify(schema)),
    );
    expect(chatPromptTokens("cl100k_base", { messages: [{ role: "user", content: q }], response_format: { type: "json_object" } })).toBe(plain);
  });

  it("images cost 85 at low detail, else 85 + 170 per 512-px tile after scaling (OpenAI's worked examples)", () => {
    expect(imageTokens("low", { width: 4096, height: 8192 })).toBe(85);
    expect(imageTokens("high", { width: 1024, height: 1024 })).toBe(765);
    expect(imageTokens("high", { width: 2048, height: 4096 })).toBe(1105);
    expect(imageTokens("auto", null)).toBe(1445);
  });

  it("reads an inline PNG's size from its header, and counts image and other parts in a message", () => {
    const png = Buffer.alloc(33);
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png);
    png.writeUInt32BE(13, 8);
    png.write("IHDR", 12, "latin1");
    png.writeUInt32BE(1024, 16);
    png.writeUInt32BE(1024, 20);
    const url = `data:image/png;base64,${png.toString("base64")}`;
    expect(inlineImageSize(url)).toEqual({ width: 1024, height: 1024 });
    expect(inlineImageSize("https://example.com/cat.png")).toBeNull();
    const t = "o200k_base";
    const base = chatPromptTokens(t, { messages: [{ role: "user", content: [{ type: "text", text: q }] }] });
    const content = [
      { type: "text", text: q },
      { type: "image_url", image_url: { url } },
      { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "low" } },
      { type: "input_audio", input_audio: { data: "AAAA", format: "wav" } },
    ];
    expect(chatPromptTokens(t, { messages: [{ role: "user", content }] })).toBe(base + 765 + 85 + NON_TEXT_PART_TOKENS);
  });

  it("refuses absurdly deep tool schemas with a RangeError (the proxy answers 400)", () => {
    let deep: Record<string, unknown> = { type: "string" };
    for (let i = 0; i < 100_000; i++) deep = { type: "object", properties: { x: deep } };
    expect(() => chatPromptTokens("o200k_base", { messages: [], tools: [{ type: "function", function: { name: "f", parameters: deep } }] })).toThrow(
      RangeError,
    );
  });

  it("survives hostile shapes without throwing", () => {
    for (const body of [
      { messages: [null, 3, "x", { role: 5, content: { a: 1 } }] },
      { messages: [], tools: [null, { function: { name: "f", parameters: { properties: { a: null } } } }] },
      { messages: [], tools: [{ function: { name: "f", parameters: { properties: { a: { type: "string", enum: "nope" } } } } }] },
      { messages: "nope", tool_choice: { function: 3 } },
    ])
      expect(chatPromptTokens("o200k_base", body as Record<string, unknown>)).toBeGreaterThanOrEqual(3);
  });
});

describe("completions and embeddings inputs", () => {
  it("counts text, lists of texts and token ids", () => {
    const t = "cl100k_base";
    expect(textInputTokens(t, q)).toBe(counts[CORPUS[0]!.label]![t]);
    expect(textInputTokens(t, [q, q])).toBe(2 * counts[CORPUS[0]!.label]![t]!);
    expect(textInputTokens(t, [1, 2, 3])).toBe(3);
    expect(textInputTokens(t, [[1, 2], [3]])).toBe(3);
    expect(textInputTokens(t, 42)).toBe(0);
  });
});
