import type Anthropic from "@anthropic-ai/sdk";
import { describe, expect, it } from "vitest";
import { usageCostNano, usdDecimal } from "../ledger/money";
import { countText } from "../tokens/encoders";
import { chatPromptTokens } from "../tokens/prompt";
import { completionWords, demoTokenizer, demoToolCall } from "../upstream-demo/server";
import { CLAUDE_BUYER, claudeProxyPerTest, reported, usdNano } from "./testing";

/**
 * POST /v1/messages (Anthropic's Messages API) through the official
 * @anthropic-ai/sdk, against the demo upstream and an in-memory backend:
 * what the client sees (text, tool calls, stop reasons, usage with cost), what
 * went upstream (the chat translation), and that each request is billed once,
 * as chat, at the cost it reported. Bad input and refusals: messages-errors.test.ts. Against the
 * real backend: messages.int.test.ts.
 */

const { secret: SECRET, model: MODEL } = CLAUDE_BUYER;
const { t, claude } = claudeProxyPerTest();

/** The listing's tokenizer, the demo upstream's for the model it is sent (fakeListing's default). */
const TOKENIZER = demoTokenizer("llama-3.1-8b-instruct");

/** The demo's prompt text for chat messages, as it hashes them into its answer. */
const demoPrompt = (...turns: [string, string][]) => turns.map(([role, text]) => `${role}: ${text}`).join("\n");
/** The arguments the demo model calls a tool with, for a conversation of one user turn. */
const demoArgs = (tool: string, ask: string) =>
  JSON.parse(
    demoToolCall({ tools: [{ function: { name: tool } }], messages: [{ role: "user", content: ask }] }, demoPrompt(["user", ask]))!.arguments,
  ) as unknown;
const price = () => t.backend.listings.find((l) => l.slug === MODEL)!.currentPrice;
type CostUsage = Anthropic.Usage & { cost: string };

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
    await reported(t.backend, 1);
    expect(t.backend.events.get(id)).toMatchObject({ costNano: cost, estimated: false, status: "ok", inputTokens: input, outputTokens: output });
    // What went upstream: a chat request, the system prompt first, max_tokens as held.
    expect(t.capture.bodies[0]).toMatchObject({
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
    expect(t.capture.bodies[0]).toMatchObject({ stop: ["END"], max_tokens: 3 });
    await reported(t.backend, 1);
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
    await reported(t.backend, 1);
    expect([...t.backend.events.values()][0]).toMatchObject({ costNano: usdNano(cost), estimated: false, outputTokens: output });
  });

  it("tool use round trip: tool_use block with parsed input, stop_reason tool_use; the tool_result goes upstream as a tool message and the model answers", async () => {
    const ask: Anthropic.MessageParam = { role: "user", content: "Weather in Paris?" };
    const first = await claude().messages.create({ model: MODEL, max_tokens: 100, tools: [WEATHER], messages: [ask] });
    expect(first.stop_reason).toBe("tool_use");
    const args = demoArgs("get_weather", "Weather in Paris?");
    expect(first.content).toEqual([{ type: "tool_use", id: expect.any(String), name: "get_weather", input: args }]);
    expect(t.capture.bodies[0]!.tools).toEqual([
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
    expect(t.capture.bodies[1]!.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: call.id, type: "function", function: { name: "get_weather", arguments: JSON.stringify(args) } }] },
      { role: "tool", tool_call_id: call.id, content: "18 °C, sunny" },
    ]);
    expect(second.stop_reason).toBe("end_turn");
    const words = completionWords(demoPrompt(["user", "Weather in Paris?"], ["assistant", ""], ["tool", "18 °C, sunny"]));
    expect(second.content).toEqual([{ type: "text", text: words.join(" ") }]);
    await reported(t.backend, 2);
    for (const e of t.backend.events.values()) expect(e.costNano).toBeGreaterThan(0n);
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
    await reported(t.backend, 1);
    expect([...t.backend.events.values()][0]!.costNano).toBe(usdNano(cost));
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
    expect(t.capture.bodies[0]!.messages).toEqual([
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
    await reported(t.backend, 1);
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
    await reported(t.backend, 2);
  });
});

/** A raw POST /v1/messages: the SDK's types would not let the bad bodies below be sent. */
