import OpenAI from "openai";
import { describe, expect, it } from "vitest";
import { usageCostNano, usdDecimal } from "../ledger/money";
import { countText } from "../tokens/encoders";
import { completionWords, DEMO_REASONING_MODEL, demoTokenizer, reasoningWords } from "../upstream-demo/server";
import { fakeListing } from "./fake-backend";
import { demoProxyPerTest, reported } from "./testing";

/**
 * Reasoning tokens through the proxy, with the official openai client against the demo's reasoning model: the
 * Responses API reports the upstream's `completion_tokens_details.reasoning_tokens` as
 * `output_tokens_details.reasoning_tokens`, chat relays them as they came, and both bill them as the output they
 * are part of (OpenAI's `completion_tokens` include them): nothing is added or taken off for reasoning.
 */

const SECRET = "sk-test-reasoning";
const MODEL = "prov/llama-3.1-70b";
const T = demoTokenizer(DEMO_REASONING_MODEL);
const ASK = "Why is the sky blue?";
const THOUGHT = countText(T, reasoningWords(`user: ${ASK}`).join(" "));
const ANSWER = countText(T, completionWords(`user: ${ASK}`).join(" "));

const t = demoProxyPerTest({
  secret: SECRET,
  org: "org-reasoning",
  direct: true,
  listings: (url) => [fakeListing(url, { slug: MODEL, upstreamModel: DEMO_REASONING_MODEL })],
});
const client = () => new OpenAI({ baseURL: `${t.gateway.url}/v1`, apiKey: SECRET, maxRetries: 0 });
const price = () => t.backend.listings[0]!.currentPrice;

describe("reasoning tokens through the proxy", () => {
  it("responses.create: output_tokens_details.reasoning_tokens as the upstream reported them, inside output_tokens, billed as output", async () => {
    const { data, response } = await client().responses.create({ model: MODEL, input: ASK }).withResponse();
    expect(THOUGHT).toBeGreaterThan(0);
    expect(data.output_text).toBe(completionWords(`user: ${ASK}`).join(" "));
    const usage = data.usage as OpenAI.Responses.ResponseUsage & { cost: string };
    expect(usage.output_tokens_details.reasoning_tokens).toBe(THOUGHT);
    expect(usage.output_tokens).toBe(THOUGHT + ANSWER);
    // Billing's assumption: reasoning tokens are output tokens, priced as output, counted once.
    const cost = usageCostNano({ input: usage.input_tokens, output: THOUGHT + ANSWER, cachedInput: 0 }, price());
    expect(usage.cost).toBe(usdDecimal(cost));
    await reported(t.backend, 1);
    expect(t.backend.events.get(response.headers.get("x-request-id")!)).toMatchObject({ outputTokens: THOUGHT + ANSWER, costNano: cost });
  });

  it("responses.stream: response.completed carries the reasoning tokens too", async () => {
    const final = await client().responses.stream({ model: MODEL, input: ASK }).finalResponse();
    expect(final.usage!.output_tokens_details.reasoning_tokens).toBe(THOUGHT);
    expect(final.usage!.output_tokens).toBe(THOUGHT + ANSWER);
    await reported(t.backend, 1);
  });

  it("chat, streamed and not: completion_tokens_details relayed as it came, completion_tokens billed whole", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: ASK }];
    const plain = await client().chat.completions.create({ model: MODEL, messages });
    expect(plain.usage).toMatchObject({ completion_tokens: THOUGHT + ANSWER, completion_tokens_details: { reasoning_tokens: THOUGHT } });
    const stream = await client().chat.completions.create({ model: MODEL, messages, stream: true, stream_options: { include_usage: true } });
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) usage = c.usage ?? usage;
    expect(usage).toMatchObject({ completion_tokens: THOUGHT + ANSWER, completion_tokens_details: { reasoning_tokens: THOUGHT } });
    await reported(t.backend, 2);
    const cost = usageCostNano({ input: plain.usage!.prompt_tokens, output: THOUGHT + ANSWER, cachedInput: 0 }, price());
    for (const e of t.backend.events.values()) expect(e).toMatchObject({ outputTokens: THOUGHT + ANSWER, costNano: cost, estimated: false });
  });
});
