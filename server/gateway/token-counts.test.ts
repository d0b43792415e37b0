import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WEATHER_TOOL } from "../tokens/corpus";
import type { Tokenizer } from "../tokens/rules";
import { startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { FakeBackend, fakeListing } from "./fake-backend";
import { startGateway, type Gateway } from "./server";

/**
 * The proxy's counts against the demo upstream's, through the real proxy and the official
 * openai client: each request goes once to a listing whose upstream reports usage, and once to
 * one whose upstream reports none (the proxy counts: `estimated`). Both must give the same
 * numbers, per tokenizer, for every kind of prompt the proxy counts.
 */

const SECRET = "sk-test-counts";
const ORG = "org-counts";
const MODELS: Record<Tokenizer, string> = {
  llama3: "llama-3.1-8b-instruct",
  o200k_base: "gpt-4o-like",
  cl100k_base: "gpt-4-like",
  p50k_base: "davinci-like",
  r50k_base: "gpt-3-like",
};
const TOKENIZERS = Object.keys(MODELS) as Tokenizer[];

let reporting: DemoUpstream;
let silent: DemoUpstream;
let backend: FakeBackend;
let gateway: Gateway;
let spoolDir: string;
let client: OpenAI;

beforeAll(async () => {
  const tokenizers = Object.fromEntries(TOKENIZERS.map((t) => [MODELS[t], t]));
  reporting = await startDemoUpstream({ tokenizers });
  silent = await startDemoUpstream({ tokenizers, omitUsage: true });
  backend = new FakeBackend();
  for (const t of TOKENIZERS) {
    for (const [kind, up] of [
      ["reports", reporting],
      ["silent", silent],
    ] as const) {
      backend.listings.push(
        fakeListing(up.url, {
          slug: `${kind}/${t}`,
          family: `${kind}-${t}`,
          upstreamModel: MODELS[t],
          tokenizer: t,
          modalities: ["chat", "completion", "embeddings"],
        }),
      );
    }
  }
  backend.addKey(SECRET, ORG);
  backend.balances.set(ORG, 1_000_000_000_000n);
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gw-counts-"));
  const outbound = { allowPrivate: new Set([new URL(reporting.url).host, new URL(silent.url).host]), ownPorts: new Set<number>() };
  gateway = await startGateway(
    { outbound, backend, spoolDir, spoolMaxBytes: 10_000_000, reservationChunkNano: 100_000_000n, defaultMaxTokens: 4096 },
    { port: 0 },
  );
  client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: SECRET, maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await gateway?.close();
  await reporting?.close();
  await silent?.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

/** A 1024×1024 PNG's first bytes, inline: the proxy and the demo read its size from the header. */
function pngUrl(width: number, height: number): string {
  const png = Buffer.alloc(33);
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(png);
  png.writeUInt32BE(13, 8);
  png.write("IHDR", 12, "latin1");
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  return `data:image/png;base64,${png.toString("base64")}`;
}

type Chat = Omit<OpenAI.ChatCompletionCreateParamsNonStreaming, "model">;

const CHATS: [string, Chat][] = [
  ["plain English", { messages: [{ role: "user", content: "What is the capital of France? Please answer briefly." }], max_tokens: 12 }],
  [
    "Chinese with a system message",
    {
      messages: [
        { role: "system", content: "你是一个乐于助人的助手。" },
        { role: "user", content: "今天天气很好，我们去公园散步吧。" },
      ],
    },
  ],
  ["code and emoji", { messages: [{ role: "user", name: "dev", content: "Fix 🐛 in `const x = arr.map((v) => v * 2);` 🎉" }], max_tokens: 40 }],
  [
    "tools, a tool call and its result",
    {
      messages: [
        { role: "system", content: "You are a weather bot." },
        { role: "user", content: "Weather in Lisbon?" },
        { role: "assistant", content: null, tool_calls: [{ id: "c1", type: "function", function: { name: "get_weather", arguments: '{"city":"Lisbon"}' } }] },
        { role: "tool", tool_call_id: "c1", content: "18 °C and sunny" },
      ],
      tools: [WEATHER_TOOL as OpenAI.ChatCompletionTool],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    },
  ],
  [
    "a JSON schema response format",
    {
      messages: [{ role: "user", content: "Weather as JSON" }],
      response_format: { type: "json_schema", json_schema: { name: "weather", schema: WEATHER_TOOL.function.parameters } },
    },
  ],
  [
    "image parts",
    {
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: pngUrl(1024, 1024), detail: "high" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.png", detail: "low" } },
          ],
        },
      ],
    },
  ],
];

describe("the proxy's estimate equals the demo upstream's usage, per tokenizer", () => {
  for (const t of TOKENIZERS) {
    it.each(CHATS)(`${t}: chat, %s`, async (_label, body) => {
      const reported = await client.chat.completions.create({ ...body, model: `reports/${t}` });
      const counted = await client.chat.completions.create({ ...body, model: `silent/${t}` });
      expect((reported.usage as { estimated?: boolean }).estimated).toBeUndefined();
      expect((counted.usage as { estimated?: boolean }).estimated).toBe(true);
      expect(counted.choices[0]!.message.content).toBe(reported.choices[0]!.message.content);
      expect(counted.usage!.prompt_tokens).toBe(reported.usage!.prompt_tokens);
      expect(counted.usage!.completion_tokens).toBe(reported.usage!.completion_tokens);
    });

    it(`${t}: a streamed chat, counted from what streamed`, async () => {
      const body = {
        messages: [{ role: "user" as const, content: "Stream a few words about tokenizers, 请。" }],
        stream: true as const,
        stream_options: { include_usage: true },
      };
      const usage = async (model: string) => {
        let u: OpenAI.CompletionUsage | undefined;
        for await (const c of await client.chat.completions.create({ ...body, model })) if (c.usage) u = c.usage;
        return u!;
      };
      const reported = await usage(`reports/${t}`);
      const counted = await usage(`silent/${t}`);
      expect((counted as { estimated?: boolean }).estimated).toBe(true);
      expect(counted.prompt_tokens).toBe(reported.prompt_tokens);
      expect(counted.completion_tokens).toBe(reported.completion_tokens);
    });

    it(`${t}: completions and embeddings`, async () => {
      const prompt = "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n";
      const a = await client.completions.create({ model: `reports/${t}`, prompt, max_tokens: 7 });
      const b = await client.completions.create({ model: `silent/${t}`, prompt, max_tokens: 7 });
      expect((b.usage as { estimated?: boolean }).estimated).toBe(true);
      expect([b.usage!.prompt_tokens, b.usage!.completion_tokens]).toEqual([a.usage!.prompt_tokens, a.usage!.completion_tokens]);
      const input = ["alpha beta", "今天天气很好", "🎉 emoji"];
      const e1 = await client.embeddings.create({ model: `reports/${t}`, input });
      const e2 = await client.embeddings.create({ model: `silent/${t}`, input });
      expect(e2.usage.prompt_tokens).toBe(e1.usage.prompt_tokens);
    });
  }
});
