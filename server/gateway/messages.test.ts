import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { usageCostNano, usdDecimal } from "../ledger/money";
import { countText } from "../tokens/encoders";
import { chatPromptTokens } from "../tokens/prompt";
import { completionWords, demoTokenizer, demoToolCall, startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { FakeBackend, fakeListing } from "./fake-backend";
import { startGateway, type Gateway } from "./server";
import { startCapture } from "./testing";

/**
 * POST /v1/messages (Anthropic's Messages API) through the official
 * @anthropic-ai/sdk, against the demo upstream and an in-memory backend:
 * what the client sees (text, tool calls, stop reasons, usage with cost), what
 * went upstream (the chat translation), and that each request is billed once,
 * as chat, at the cost it reported. Against the real backend: messages.int.test.ts.
 */

let upstream: DemoUpstream;
let capture: { url: string; bodies: Record<string, unknown>[]; close: () => Promise<void> };
let backend: FakeBackend;
let gateway: Gateway;
let spoolDir: string;
const SECRET = "sk-test-claude-buyer";
const ORG = "org-claude";
const MODEL = "prov/llama-3.1-8b";
/** The listing's tokenizer, the demo upstream's for the model it is sent (fakeListing's default). */
const TOKENIZER = demoTokenizer("llama-3.1-8b-instruct");

const outbound = { allowPrivate: new Set<string>(), ownPorts: new Set<number>() };
const claude = (opts: { apiKey?: string | null; authToken?: string } = {}) =>
  new Anthropic({ baseURL: gateway.url, apiKey: opts.apiKey === undefined ? SECRET : opts.apiKey, authToken: opts.authToken ?? null, maxRetries: 0 });

async function reported(n: number) {
  for (let i = 0; i < 200 && backend.events.size < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(backend.events.size).toBe(n);
}

/** The demo's prompt text for chat messages, as it hashes them into its answer. */
const demoPrompt = (...turns: [string, string][]) => turns.map(([role, text]) => `${role}: ${text}`).join("\n");
/** The arguments the demo model calls a tool with, for a conversation of one user turn. */
const demoArgs = (tool: string, ask: string) =>
  JSON.parse(
    demoToolCall({ tools: [{ function: { name: tool } }], messages: [{ role: "user", content: ask }] }, demoPrompt(["user", ask]))!.arguments,
  ) as unknown;
const price = () => backend.listings.find((l) => l.slug === MODEL)!.currentPrice;
const usd = (text: string) => {
  const [whole, frac = ""] = text.split(".");
  return BigInt(whole!) * 1_000_000_000n + BigInt(frac.padEnd(9, "0"));
};
type CostUsage = Anthropic.Usage & { cost: string };

beforeAll(async () => {
  upstream = await startDemoUpstream();
  capture = await startCapture(upstream.url);
  for (const u of [upstream.url, capture.url]) outbound.allowPrivate.add(new URL(u).host);
});
afterAll(async () => {
  await capture.close();
  await upstream.close();
});

beforeEach(async () => {
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gw-msgs-"));
  backend = new FakeBackend();
  backend.listings = [fakeListing(capture.url, { slug: MODEL, family: "llama-3.1-8b" })];
  backend.addKey(SECRET, ORG);
  backend.balances.set(ORG, 10_000_000_000n);
  capture.bodies.length = 0;
  gateway = await startGateway(
    { outbound, backend, spoolDir, spoolMaxBytes: 10_000_000, reservationChunkNano: 100_000_000n, defaultMaxTokens: 4096, reportFlushMs: 10, keyPollMs: 50 },
    { port: 0 },
  );
});
afterEach(async () => {
  await gateway.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

const WEATHER: Anthropic.Tool = {
  name: "get_weather",
  description: "The weather in a city",
  input_schema: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" } }, required: ["city"] },
};

describe("messages.create and messages.stream through the proxy", () => {
  it("create: the demo's text, end_turn, usage in Anthropic's terms with cost, one event billed at that cost", async () => {
    const { data, response } = await claude()
      .messages.create({ model: MODEL, max_tokens: 200, system: "Be brief", messages: [{ role: "user", content: "What is a token?" }] })
      .withResponse();
    const words = completionWords(demoPrompt(["system", "Be brief"], ["user", "What is a token?"]));
    expect(data).toMatchObject({ type: "message", role: "assistant", model: MODEL, stop_reason: "end_turn", stop_sequence: null });
    expect(data.content).toEqual([{ type: "text", text: words.join(" ") }]);
    // The demo counts with the listing's tokenizer, as the proxy does.
    const input = chatPromptTokens(TOKENIZER, {
      messages: [
        { role: "system", content: "Be brief" },
        { role: "user", content: "What is a token?" },
      ],
    });
    const output = countText(TOKENIZER, words.join(" "));
    const usage = data.usage as CostUsage;
    expect(usage).toMatchObject({ input_tokens: input, output_tokens: output, cache_read_input_tokens: 0 });
    const cost = usageCostNano({ input, output, cachedInput: 0 }, price());
    expect(usage.cost).toBe(usdDecimal(cost));
    const id = response.headers.get("x-request-id")!;
    expect(response.headers.get("request-id")).toBe(id);
    expect(data.id).toBe(`msg_${id.replace(/-/g, "")}`);
    await reported(1);
    expect(backend.events.get(id)).toMatchObject({ costNano: cost, estimated: false, status: "ok", inputTokens: input, outputTokens: output });
    // What went upstream: a chat request, the system prompt first, max_tokens as held.
    expect(capture.bodies[0]).toMatchObject({
      messages: [
        { role: "system", content: "Be brief" },
        { role: "user", content: "What is a token?" },
      ],
      max_tokens: 200,
    });
  });

  it("create: max_tokens reached is stop_reason max_tokens; stop_sequences go upstream as stop", async () => {
    const data = await claude().messages.create({ model: MODEL, max_tokens: 3, stop_sequences: ["END"], messages: [{ role: "user", content: "Say a lot" }] });
    expect(data.stop_reason).toBe("max_tokens");
    // The demo says as many of its words as fit in max_tokens.
    const text = (data.content[0] as Anthropic.TextBlock).text;
    expect(
      completionWords(demoPrompt(["user", "Say a lot"]))
        .join(" ")
        .startsWith(text),
    ).toBe(true);
    expect(data.usage.output_tokens).toBe(countText(TOKENIZER, text));
    expect(data.usage.output_tokens).toBeLessThanOrEqual(3);
    expect(capture.bodies[0]).toMatchObject({ stop: ["END"], max_tokens: 3 });
    await reported(1);
  });

  it("stream: text events add up to the demo's text; finalMessage and the last message_delta carry usage, the latter with the billed cost", async () => {
    const stream = claude().messages.stream({ model: MODEL, max_tokens: 200, messages: [{ role: "user", content: "stream me" }] });
    let text = "";
    const types: string[] = [];
    let delta: Anthropic.MessageDeltaEvent | null = null;
    stream.on("text", (t) => {
      text += t;
    });
    stream.on("streamEvent", (e) => {
      types.push(e.type);
      if (e.type === "message_delta") delta = e;
    });
    const final = await stream.finalMessage();
    const words = completionWords(demoPrompt(["user", "stream me"]));
    expect(text).toBe(words.join(" "));
    expect(final.content).toEqual([expect.objectContaining({ type: "text", text })]);
    expect(final.stop_reason).toBe("end_turn");
    expect(types[0]).toBe("message_start");
    expect(types.slice(-2)).toEqual(["message_delta", "message_stop"]);
    expect(types.filter((t) => t === "content_block_start")).toHaveLength(1);
    const input = chatPromptTokens(TOKENIZER, { messages: [{ role: "user", content: "stream me" }] });
    const output = countText(TOKENIZER, words.join(" "));
    expect(final.usage).toMatchObject({ input_tokens: input, output_tokens: output, cache_read_input_tokens: 0 });
    const cost = (delta!.usage as unknown as CostUsage).cost;
    expect(cost).toBe(usdDecimal(usageCostNano({ input, output, cachedInput: 0 }, price())));
    await reported(1);
    expect([...backend.events.values()][0]).toMatchObject({ costNano: usd(cost), estimated: false, outputTokens: output });
  });

  it("tool use round trip: tool_use block with parsed input, stop_reason tool_use; the tool_result goes upstream as a tool message and the model answers", async () => {
    const ask: Anthropic.MessageParam = { role: "user", content: "Weather in Paris?" };
    const first = await claude().messages.create({ model: MODEL, max_tokens: 100, tools: [WEATHER], messages: [ask] });
    expect(first.stop_reason).toBe("tool_use");
    const args = demoArgs("get_weather", "Weather in Paris?");
    expect(first.content).toEqual([{ type: "tool_use", id: expect.any(String), name: "get_weather", input: args }]);
    expect(capture.bodies[0]!.tools).toEqual([
      { type: "function", function: { name: "get_weather", description: "The weather in a city", parameters: WEATHER.input_schema } },
    ]);
    const call = first.content[0] as Anthropic.ToolUseBlock;

    const second = await claude().messages.create({
      model: MODEL,
      max_tokens: 100,
      tools: [WEATHER],
      messages: [
        ask,
        { role: "assistant", content: first.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: call.id, content: "18 °C, sunny" }] },
      ],
    });
    expect(capture.bodies[1]!.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function", function: { name: "get_weather", arguments: JSON.stringify(args) } }] },
      { role: "tool", tool_call_id: call.id, content: "18 °C, sunny" },
    ]);
    expect(second.stop_reason).toBe("end_turn");
    const words = completionWords(demoPrompt(["user", "Weather in Paris?"], ["assistant", ""], ["tool", "18 °C, sunny"]));
    expect(second.content).toEqual([{ type: "text", text: words.join(" ") }]);
    await reported(2);
    for (const e of backend.events.values()) expect(e.costNano).toBeGreaterThan(0n);
  });

  it("tool use streamed: input_json_delta events build the same input, and the stream's cost is billed", async () => {
    const stream = claude().messages.stream({ model: MODEL, max_tokens: 100, tools: [WEATHER], messages: [{ role: "user", content: "Weather in Oslo?" }] });
    let json = "";
    let cost = "";
    stream.on("inputJson", (partial) => {
      json += partial;
    });
    stream.on("streamEvent", (e) => {
      if (e.type === "message_delta") cost = (e.usage as unknown as CostUsage).cost;
    });
    const final = await stream.finalMessage();
    const args = demoArgs("get_weather", "Weather in Oslo?");
    expect(JSON.parse(json)).toEqual(args);
    expect(final.stop_reason).toBe("tool_use");
    expect(final.content).toEqual([expect.objectContaining({ type: "tool_use", name: "get_weather", input: args })]);
    await reported(1);
    expect([...backend.events.values()][0]!.costNano).toBe(usd(cost));
  });

  it("an image block (base64 and url) goes upstream as image_url parts beside the text", async () => {
    const png = Buffer.from("89504e470d0a1a0a", "hex").toString("base64");
    const data = await claude().messages.create({
      model: MODEL,
      max_tokens: 50,
      messages: [
        {
          role: "user",
          content: [
            { type: "image", source: { type: "base64", media_type: "image/png", data: png } },
            { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
            { type: "text", text: "What is in these?" },
          ],
        },
      ],
    });
    expect(capture.bodies[0]!.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "image_url", image_url: { url: `data:image/png;base64,${png}` } },
          { type: "image_url", image_url: { url: "https://example.com/cat.jpg" } },
          { type: "text", text: "What is in these?" },
        ],
      },
    ]);
    expect((data.content[0] as Anthropic.TextBlock).text).toBe(completionWords(demoPrompt(["user", "What is in these?"])).join(" "));
    await reported(1);
  });

  it("takes the key as x-api-key (the SDK's default) or as Authorization: Bearer, with anthropic-version sent", async () => {
    const viaHeader = await claude()
      .messages.create({ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    expect(viaHeader.response.status).toBe(200);
    const viaBearer = await claude({ apiKey: null, authToken: SECRET }).messages.create({
      model: MODEL,
      max_tokens: 5,
      messages: [{ role: "user", content: "hi" }],
    });
    expect(viaBearer.type).toBe("message");
    await reported(2);
  });
});

/** A raw POST /v1/messages: the SDK's types would not let the bad bodies below be sent. */
async function post(body: unknown, key: string | null = SECRET) {
  const r = await fetch(`${gateway.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "anthropic-version": "2023-06-01", ...(key ? { "x-api-key": key } : {}) },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as { type: string; error: { type: string; message: string } } };
}

const user = (content: unknown) => ({ role: "user", content });
const toolUse = { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Oslo" } }] };

describe("bad input: Anthropic's invalid_request_error naming the field, nothing held or billed", () => {
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["missing max_tokens", { model: MODEL, messages: [user("hi")] }, /^max_tokens: is required/],
    ["max_tokens not a whole number", { model: MODEL, max_tokens: 1.5, messages: [user("hi")] }, /^max_tokens: must be a whole number/],
    ["no messages", { model: MODEL, max_tokens: 5, messages: [] }, /^messages: must be a non-empty array/],
    ["a system role in messages", { model: MODEL, max_tokens: 5, messages: [{ role: "system", content: "x" }] }, /^messages\[0\]\.role: .*top-level `system`/],
    ["an unknown role", { model: MODEL, max_tokens: 5, messages: [{ role: "tool", content: "x" }] }, /^messages\[0\]\.role: must be "user" or "assistant"/],
    ["a document block", { model: MODEL, max_tokens: 5, messages: [user([{ type: "document", source: {} }])] }, /^messages\[0\]\.content\[0\]\.type: /],
    ["tool_use from the user", { model: MODEL, max_tokens: 5, messages: [user(toolUse.content)] }, /^messages\[0\]\.content\[0\]\.type: /],
    [
      "an image block in an assistant turn",
      { model: MODEL, max_tokens: 5, messages: [user("a"), { role: "assistant", content: [{ type: "image" }] }] },
      /^messages\[1\]\.content\[0\]\.type: /,
    ],
    [
      "an image of an unknown media type",
      { model: MODEL, max_tokens: 5, messages: [user([{ type: "image", source: { type: "base64", media_type: "image/bmp", data: "AA==" } }])] },
      /^messages\[0\]\.content\[0\]\.source\.media_type/,
    ],
    [
      "a tool_result for an unknown tool_use id",
      { model: MODEL, max_tokens: 5, messages: [user("a"), toolUse, user([{ type: "tool_result", tool_use_id: "toolu_nope", content: "x" }])] },
      /^messages\[2\]\.content\[0\]\.tool_use_id: "toolu_nope" does not match/,
    ],
    [
      "a tool_use left unanswered",
      { model: MODEL, max_tokens: 5, messages: [user("a"), toolUse, user("next")] },
      /^messages\[2\]\.content: must answer every tool_use .*toolu_1/,
    ],
    [
      "a server tool",
      { model: MODEL, max_tokens: 5, tools: [{ type: "web_search_20250305", name: "web_search" }], messages: [user("a")] },
      /^tools\[0\]\.type: server tools/,
    ],
    ["a tool without input_schema", { model: MODEL, max_tokens: 5, tools: [{ name: "x" }], messages: [user("a")] }, /^tools\[0\]\.input_schema/],
    [
      "tool_choice naming no tool",
      { model: MODEL, max_tokens: 5, tools: [WEATHER], tool_choice: { type: "tool", name: "nope" }, messages: [user("a")] },
      /^tool_choice\.name/,
    ],
    ["a system prompt of the wrong shape", { model: MODEL, max_tokens: 5, system: [{ type: "image" }], messages: [user("a")] }, /^system\[0\]\.type/],
  ];
  it.each(cases)("%s", async (_, body, message) => {
    const r = await post(body);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ type: "error", error: { type: "invalid_request_error", message: expect.stringMatching(message) } });
    expect(backend.calls.reserve ?? 0).toBe(0);
    expect(capture.bodies).toHaveLength(0);
    await new Promise((r) => setTimeout(r, 30));
    expect(backend.events.size).toBe(0);
  });

  it("malformed JSON is an invalid_request_error too", async () => {
    const r = await fetch(`${gateway.url}/v1/messages`, { method: "POST", headers: { "x-api-key": SECRET }, body: "{not json" });
    expect(r.status).toBe(400);
    expect(await r.json()).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
  });
});

describe("refusals in Anthropic's shape, through the SDK's error classes", () => {
  const ask = { model: MODEL, max_tokens: 5, messages: [{ role: "user" as const, content: "hi" }] };
  async function refused(p: Promise<unknown>) {
    try {
      await p;
    } catch (err) {
      if (err instanceof Anthropic.APIError) return { status: err.status, error: err.error, cls: err.constructor.name };
      throw err;
    }
    throw new Error("expected the call to fail");
  }

  it("401 for a missing or unknown key", async () => {
    expect(await post(ask, null)).toMatchObject({
      status: 401,
      body: { type: "error", error: { type: "authentication_error", message: expect.stringMatching(/x-api-key/) } },
    });
    expect(await refused(claude({ apiKey: "sk-nobody" }).messages.create(ask))).toMatchObject({
      status: 401,
      cls: "AuthenticationError",
      error: { type: "error", error: { type: "authentication_error" } },
    });
  });

  it("402 (no credit) is billing_error", async () => {
    backend.balances.set(ORG, 0n);
    expect(await refused(claude().messages.create(ask))).toMatchObject({
      status: 402,
      cls: "PaymentRequiredError",
      error: { type: "error", error: { type: "billing_error", message: expect.stringMatching(/credit/) } },
    });
    expect(backend.events.size).toBe(0);
  });

  it("403 outside the key's allowlist is permission_error; 404 for an unknown model is not_found_error", async () => {
    backend.addKey("sk-narrow", ORG, { modelAllowlist: ["qwen2.5-7b"] });
    expect(await refused(claude({ apiKey: "sk-narrow" }).messages.create(ask))).toMatchObject({
      status: 403,
      cls: "PermissionDeniedError",
      error: { error: { type: "permission_error" } },
    });
    expect(await refused(claude().messages.create({ ...ask, model: "nobody/nothing" }))).toMatchObject({
      status: 404,
      error: { error: { type: "not_found_error" } },
    });
  });

  it("429 past the key's requests per minute is rate_limit_error with retry-after", async () => {
    backend.addKey("sk-slow", ORG, { rpmLimit: 1 });
    await claude({ apiKey: "sk-slow" }).messages.create(ask);
    const r = await fetch(`${gateway.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": "sk-slow", "content-type": "application/json" },
      body: JSON.stringify(ask),
    });
    expect(r.status).toBe(429);
    expect(Number(r.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(await r.json()).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });
    await reported(1);
  });
});
