import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { completionWords, startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { chatPromptTokens, countJsonStringTokens, countTextTokens, NON_TEXT_PART_TOKENS, textInputTokens } from "./tokens";

describe("countTextTokens", () => {
  it.each([
    ["empty", "", 0],
    ["one word", "hello", 1],
    ["leading space rides with the word", " hello", 1],
    ["words", "the quick brown fox", 4],
    ["punctuation is its own token", "Hello, world!", 4],
    ["an 8-letter word is one token", "tokenise", 1],
    ["a 9-letter word is two", "tokenised", 2],
    ["a long word splits every 8 characters", "internationalisation", 3],
    ["digits are word characters", "2025 was 365 days", 4],
    ["non-ASCII letters are word characters", "café naïve", 2],
  ])("%s", (_label, text, expected) => {
    expect(countTextTokens(text)).toBe(expected);
  });

  it("counts the raw bytes of a JSON string like the decoded text", () => {
    for (const text of ["plain words here", 'quote " and \\ back', "line\nbreak\ttab", "accented é"]) {
      const json = Buffer.from(JSON.stringify(text));
      expect(countJsonStringTokens(json, 1, json.length - 1)).toBe(countTextTokens(text));
    }
  });

  it("prompt estimates use the larger of the word count and chars/4", () => {
    expect(textInputTokens("x".repeat(40))).toBe(10);
    expect(textInputTokens("a b c d e f")).toBe(6);
    expect(textInputTokens(["abcd", "efgh"])).toBe(2);
    expect(
      chatPromptTokens({
        messages: [
          { role: "user", content: "hello" },
          { role: "user", content: [{ type: "text", text: "hi there" }] },
        ],
      }),
    ).toBe(4 + 2 + 4 + 2);
  });

  it("counts a character a token in scripts without spaces, as BPE roughly does", () => {
    expect(textInputTokens("今天天气很好我们去公园散步吧")).toBe(14);
  });

  it("holds for image parts, tool schemas, tool calls and response formats", () => {
    const text = { role: "user", content: "hello" };
    const plain = chatPromptTokens({ messages: [text] });
    const image = { type: "image_url", image_url: { url: "https://example.com/a.png", detail: "high" } };
    expect(chatPromptTokens({ messages: [{ role: "user", content: [{ type: "text", text: "hello" }, image, image] }] })).toBe(plain + 2 * NON_TEXT_PART_TOKENS);
    const tools = [
      { type: "function", function: { name: "lookup", parameters: { type: "object", properties: { q: { type: "string", description: "x".repeat(400) } } } } },
    ];
    expect(chatPromptTokens({ messages: [text], tools })).toBeGreaterThanOrEqual(plain + 100);
    expect(
      chatPromptTokens({ messages: [text], response_format: { type: "json_schema", json_schema: { schema: { description: "y".repeat(400) } } } }),
    ).toBeGreaterThanOrEqual(plain + 100);
    const call = { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "lookup", arguments: "z".repeat(400) } }] };
    expect(chatPromptTokens({ messages: [text, call] })).toBeGreaterThanOrEqual(plain + 4 + 100);
  });
});

describe("against the demo upstream's own counts", () => {
  let upstream: DemoUpstream;
  let client: OpenAI;
  beforeAll(async () => {
    upstream = await startDemoUpstream();
    client = new OpenAI({ baseURL: upstream.url, apiKey: "x", maxRetries: 0 });
  });
  afterAll(() => upstream.close());

  it("matches completion_tokens exactly on 200 prompts", () => {
    // The demo's completion is its words joined by spaces and reports one token per word.
    for (let i = 0; i < 200; i++) {
      const words = completionWords(`user: prompt number ${i}`);
      expect(countTextTokens(words.join(" "))).toBe(words.length);
    }
  });

  it("never estimates a prompt below the demo's prompt_tokens", async () => {
    const prompts = ["hi", "What is a token?", "x".repeat(999), "Lots of short words in a row, with commas, and stops.", "supercalifragilistic"];
    for (const content of prompts) {
      const r = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content }], max_tokens: 1 });
      expect(chatPromptTokens({ messages: [{ role: "user", content }] })).toBeGreaterThanOrEqual(r.usage!.prompt_tokens);
    }
  });
});
