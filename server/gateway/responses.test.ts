import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { usageCostNano, usdDecimal } from "../ledger/money";
import { countText } from "../tokens/encoders";
import { chatPromptTokens } from "../tokens/prompt";
import { cachedTokens, completionWords, demoTokenizer } from "../upstream-demo/server";

import { fakeListing } from "./fake-backend";
import { demoProxyPerTest, reported } from "./testing";

/**
 * POST /v1/responses through the official openai client (responses.create, responses.stream,
 * a function-calling round trip) against the demo upstream and an in-memory backend: the text,
 * tool calls and usage the client sees, one event per request at the cost the answer reported,
 * and OpenAI-shaped errors that write nothing. Against the real backend: gateway.int.test.ts.
 */

const SECRET = "sk-test-responses";
const ORG = "org-responses";
const MODEL = "prov/llama-3.1-8b";
/** The demo model behind MODEL counts with this tokenizer, as the proxy does for its listing. */
const TOKENIZER = demoTokenizer("llama-3.1-8b-instruct");
const t = demoProxyPerTest({ secret: SECRET, org: ORG, direct: true, listings: (url) => [fakeListing(url, { slug: MODEL, family: "llama-3.1-8b" })] });
const client = (apiKey = SECRET) => new OpenAI({ baseURL: `${t.gateway.url}/v1`, apiKey, maxRetries: 0 });
const TOOLS: OpenAI.Responses.FunctionTool[] = [
  {
    type: "function",
    name: "get_weather",
    description: "The weather in a city",
    parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"], additionalProperties: false },
    strict: true,
  },
];

type Usage = OpenAI.Responses.ResponseUsage & { cost: string };

/** The cost the listing's prices give a usage, as the answer must report it. */
function costOf(u: OpenAI.Responses.ResponseUsage) {
  const cached = u.input_tokens_details.cached_tokens;
  const price = t.backend.listings.find((l) => l.slug === MODEL)!.currentPrice;
  return usageCostNano({ input: u.input_tokens - cached, output: u.output_tokens, cachedInput: cached }, price);
}

describe("responses.create", () => {
  it("text input: the upstream's text, usage with cost, one event at that cost under the response's request id", async () => {
    const { data, response } = await client().responses.create({ model: MODEL, input: "What is a token?" }).withResponse();
    expect(data.object).toBe("response");
    expect(data.status).toBe("completed");
    expect(data.model).toBe(MODEL);
    expect(data.output_text).toBe(completionWords("user: What is a token?").join(" "));
    const usage = data.usage as Usage;
    expect(usage.output_tokens).toBe(countText(TOKENIZER, completionWords("user: What is a token?").join(" ")));
    expect(usage.input_tokens).toBe(chatPromptTokens(TOKENIZER, { messages: [{ role: "user", content: "What is a token?" }] }));
    expect(usage.input_tokens_details.cached_tokens).toBe(0);
    expect(usage.total_tokens).toBe(usage.input_tokens + usage.output_tokens);
    expect(usage.cost).toBe(usdDecimal(costOf(usage)));
    const id = response.headers.get("x-request-id")!;
    expect(data.id).toBe(`resp_${id.replaceAll("-", "")}`);
    await reported(t.backend, 1);
    expect(t.backend.events.get(id)).toMatchObject({ costNano: costOf(usage), status: "ok", estimated: false, outputTokens: usage.output_tokens });
  });

  it("instructions and a message array reach the upstream as system and chat messages; max_output_tokens caps the answer", async () => {
    const r = await client().responses.create({
      model: MODEL,
      instructions: "Be brief",
      input: [
        { role: "user", content: "Hi" },
        // An earlier answer passed back as it came (its id and status are the client's to keep).
        { type: "message", id: "msg_1", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Hello", annotations: [] }] },
        { role: "user", content: [{ type: "input_text", text: "More" }] },
      ],
      max_output_tokens: 3,
    });
    const prompt = "system: Be brief\nuser: Hi\nassistant: Hello\nuser: More";
    expect(r.output_text).toBe(completionWords(prompt).slice(0, 3).join(" "));
    expect(r.status).toBe("incomplete");
    expect(r.incomplete_details).toEqual({ reason: "max_output_tokens" });
    expect(r.max_output_tokens).toBe(3);
    expect(r.instructions).toBe("Be brief");
    expect(r.usage!.output_tokens).toBe(3);
    await reported(t.backend, 1);
  });

  it("an input_image part is served (the demo upstream reads the text parts only)", async () => {
    const content: OpenAI.Responses.ResponseInputMessageContentList = [
      { type: "input_text", text: "Look" },
      { type: "input_image", image_url: "data:image/png;base64,iVBORw0KGgo=", detail: "low" },
    ];
    const r = await client().responses.create({ model: MODEL, input: [{ role: "user", content }] });
    expect(r.output_text).toBe(completionWords("user: Look").join(" "));
    await reported(t.backend, 1);
  });

  it("a long prompt reports the upstream's cached tokens and is billed at the cached price", async () => {
    const text = "cache ".repeat(2000);
    const r = await client().responses.create({ model: MODEL, input: text });
    const usage = r.usage as Usage;
    expect(usage.input_tokens_details.cached_tokens).toBe(cachedTokens(usage.input_tokens));
    expect(usage.input_tokens_details.cached_tokens).toBeGreaterThan(0);
    expect(usage.cost).toBe(usdDecimal(costOf(usage)));
    await reported(t.backend, 1);
    expect([...t.backend.events.values()][0]).toMatchObject({ cachedInputTokens: usage.input_tokens_details.cached_tokens, costNano: costOf(usage) });
  });
});

describe("responses.stream", () => {
  it("relays the Responses event types; the final response and the completed event's usage carry the cost billed", async () => {
    const stream = client().responses.stream({ model: MODEL, input: "stream me" });
    const types: string[] = [];
    let deltas = "";
    stream.on("event", (e) => types.push(e.type));
    stream.on("response.output_text.delta", (e) => {
      deltas += e.delta;
    });
    const final = await stream.finalResponse();
    const words = completionWords("user: stream me");
    expect(deltas).toBe(words.join(" "));
    expect(final.output_text).toBe(words.join(" "));
    expect(types.slice(0, 4)).toEqual(["response.created", "response.in_progress", "response.output_item.added", "response.content_part.added"]);
    expect(types.filter((t) => t === "response.output_text.delta")).toHaveLength(words.length);
    expect(types.slice(-4)).toEqual(["response.output_text.done", "response.content_part.done", "response.output_item.done", "response.completed"]);
    const usage = final.usage as Usage;
    expect(usage.output_tokens).toBe(words.length);
    expect(usage.cost).toBe(usdDecimal(costOf(usage)));
    await reported(t.backend, 1);
    expect([...t.backend.events.values()][0]).toMatchObject({ costNano: costOf(usage), estimated: false, outputTokens: words.length });
  });

  it("responses.create with stream: true yields sequence-numbered events ending in response.completed", async () => {
    const events = await client().responses.create({ model: MODEL, input: "numbered", stream: true });
    const seen: OpenAI.Responses.ResponseStreamEvent[] = [];
    for await (const e of events) seen.push(e);
    expect(seen.map((e) => e.sequence_number)).toEqual(seen.map((_, i) => i));
    const done = seen.at(-1) as OpenAI.Responses.ResponseCompletedEvent;
    expect(done.type).toBe("response.completed");
    expect(
      done.response.output_text ??
        done.response.output
          .flatMap((o) => (o.type === "message" ? o.content : []))
          .map((c) => ("text" in c ? c.text : ""))
          .join(""),
    ).toBe(completionWords("user: numbered").join(" "));
  });
});

describe("function calling", () => {
  for (const streamed of [false, true]) {
    it(`a round trip${streamed ? ", streamed" : ""}: a function_call item, then its function_call_output answered with text; each turn billed once`, async () => {
      const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "Weather in Paris?" }];
      const first: OpenAI.Responses.Response = streamed
        ? await client().responses.stream({ model: MODEL, input, tools: TOOLS }).finalResponse()
        : await client().responses.create({ model: MODEL, input, tools: TOOLS });
      const calls = first.output.filter((o): o is OpenAI.Responses.ResponseFunctionToolCall => o.type === "function_call");
      expect(calls).toHaveLength(1);
      const call = calls[0]!;
      expect(call.name).toBe("get_weather");
      expect(JSON.parse(call.arguments)).toEqual({ query: completionWords("user: Weather in Paris?").slice(0, 3).join(" ") });
      expect(call.call_id).toMatch(/^call_/);
      expect(first.output_text).toBe("");
      expect((first.usage as Usage).output_tokens).toBe(countText(TOKENIZER, call.arguments));

      const next: OpenAI.Responses.ResponseInput = [...input, call, { type: "function_call_output", call_id: call.call_id, output: "sunny" }];
      const second: OpenAI.Responses.Response = streamed
        ? await client().responses.stream({ model: MODEL, input: next, tools: TOOLS }).finalResponse()
        : await client().responses.create({ model: MODEL, input: next, tools: TOOLS });
      expect(second.output.map((o) => o.type)).toEqual(["message"]);
      expect(second.output_text).toBe(completionWords("user: Weather in Paris?\nassistant: \ntool: sunny").join(" "));
      await reported(t.backend, 2);
      const costs = [...t.backend.events.values()].map((e) => e.costNano);
      expect(costs).toEqual([costOf(first.usage!), costOf(second.usage!)]);
      expect(costs.map(usdDecimal)).toEqual([(first.usage as Usage).cost, (second.usage as Usage).cost]);
    });
  }
});

describe("errors in OpenAI's shape, nothing written", () => {
  async function failure(p: Promise<unknown>) {
    try {
      await p;
    } catch (err) {
      if (err instanceof OpenAI.APIError)
        return { status: err.status, error: err.error as { code: string; type: string; param: string | null; message: string } };
      throw err;
    }
    throw new Error("expected the call to fail");
  }
  const BAD: [string, Record<string, unknown>, string, RegExp][] = [
    ["store: true", { store: true }, "store", /stored responses are not supported/],
    ["previous_response_id", { previous_response_id: "resp_123" }, "previous_response_id", /not supported/],
    ["an unknown field", { frobnicate: 1 }, "frobnicate", /not supported/],
    ["no input", { input: undefined }, "input", /required/],
    ["an empty input array", { input: [] }, "input", /non-empty array/],
    ["a wrong input item type", { input: [{ type: "reasoning", summary: [] }] }, "input[0].type", /"reasoning" is not supported/],
    ["a wrong content part type", { input: [{ role: "user", content: [{ type: "input_file", file_id: "f" }] }] }, "input[0].content[0].type", /input_file/],
    ["a bad role", { input: [{ role: "robot", content: "x" }] }, "input[0].role", /must be one of/],
    ["a built-in tool", { tools: [{ type: "web_search" }] }, "tools[0].type", /"web_search" is not supported/],
    ["a nameless function tool", { tools: [{ type: "function", parameters: {} }] }, "tools[0].name", /non-empty/],
    ["a function call without call_id", { input: [{ type: "function_call", name: "f", arguments: "{}" }] }, "input[0].call_id", /non-empty/],
    ["max_output_tokens: 0", { max_output_tokens: 0 }, "max_output_tokens", /whole number/],
    ["a bad tool_choice", { tool_choice: "sometimes" }, "tool_choice", /auto/],
    ["no model", { model: undefined }, "model", /required/],
  ];
  for (const [label, change, param, message] of BAD) {
    it(`400 for ${label}, naming ${param}`, async () => {
      const body = { model: MODEL, input: "x", ...change } as unknown as OpenAI.Responses.ResponseCreateParamsNonStreaming;
      const f = await failure(client().responses.create(body));
      expect(f).toMatchObject({ status: 400, error: { type: "invalid_request_error", param } });
      expect(f.error.message).toMatch(message);
      expect(f.error.message.startsWith(param)).toBe(true);
      expect(t.backend.calls.reserve).toBeUndefined();
      expect(t.backend.events.size).toBe(0);
    });
  }

  it("401 for an unknown key, 402 without credit, 403 outside the allowlist, 429 past the rate limit", async () => {
    expect(await failure(client("sk-unknown").responses.create({ model: MODEL, input: "x" }))).toMatchObject({
      status: 401,
      error: { code: "invalid_api_key", type: "authentication_error" },
    });
    t.backend.addKey("sk-broke", "org-broke");
    expect(await failure(client("sk-broke").responses.create({ model: MODEL, input: "x" }))).toMatchObject({
      status: 402,
      error: { code: "insufficient_credit", type: "insufficient_quota" },
    });
    t.backend.addKey("sk-narrow", ORG, { modelAllowlist: ["qwen2.5-7b"] });
    expect(await failure(client("sk-narrow").responses.create({ model: MODEL, input: "x" }))).toMatchObject({
      status: 403,
      error: { code: "model_not_allowed", type: "permission_error", param: "model" },
    });
    t.backend.addKey("sk-slow", ORG, { rpmLimit: 1 });
    await client("sk-slow").responses.create({ model: MODEL, input: "x", max_output_tokens: 2 });
    expect(await failure(client("sk-slow").responses.create({ model: MODEL, input: "x", max_output_tokens: 2 }))).toMatchObject({
      status: 429,
      error: { code: "rate_limit_exceeded", type: "rate_limit_error" },
    });
    await reported(t.backend, 1);
  });
});
