import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { demoListings } from "../../db/seed";
import { countText } from "../tokens/encoders";
import { DEMO_ENERGY_PROFILES, demoEnergyJoules, demoUpstreamCredential } from "./energy-profiles";
import { completionWords, DEMO_REASONING_MODEL, demoTokenizer, reasoningWords, startDemoUpstream, type DemoUpstream } from "./server";

let upstream: DemoUpstream;
let client: OpenAI;

beforeAll(async () => {
  upstream = await startDemoUpstream({ apiKey: "demo-key-123456789" });
  client = new OpenAI({ baseURL: upstream.url, apiKey: "demo-key-123456789", maxRetries: 0 });
});
afterAll(() => upstream.close());

const expectedText = (prompt: string, max?: number) => completionWords(prompt).slice(0, max).join(" ");
/** The words of the answer to `prompt` that fit in `max` tokens, as the demo says them. */
const fitting = (prompt: string, max: number, t: "llama3" | "o200k_base") => {
  let words = completionWords(prompt);
  while (countText(t, words.join(" ")) > max) words = words.slice(0, -1);
  return words.join(" ");
};

describe("demo upstream, through the official openai client", () => {
  it("lists models", async () => {
    const page = await client.models.list();
    expect(page.data.map((m) => m.id)).toContain("llama-3.1-8b-instruct");
  });

  it("answers a chat completion deterministically, with usage", async () => {
    const req = { model: "llama-3.1-8b-instruct", messages: [{ role: "user" as const, content: "What is a token?" }] };
    const a = await client.chat.completions.create(req);
    const b = await client.chat.completions.create(req);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    expect(a.choices[0]!.message.content).toBe(expectedText("user: What is a token?"));
    expect(a.choices[0]!.finish_reason).toBe("stop");
    // Llama 3's tokenizer for a llama-3 model; 3 per message and 3 priming the reply, as OpenAI counts chats.
    expect(a.usage).toMatchObject({
      prompt_tokens: 3 + countText("llama3", "user") + countText("llama3", "What is a token?") + 3,
      completion_tokens: countText("llama3", expectedText("user: What is a token?")),
      prompt_tokens_details: { cached_tokens: 0 },
    });
    expect(a.usage!.total_tokens).toBe(a.usage!.prompt_tokens + a.usage!.completion_tokens);
  });

  it("calls the offered function until a tool result follows, streamed and not, its arguments counted as output", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [{ type: "function", function: { name: "lookup", parameters: { type: "object", properties: {} } } }];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Find it" }];
    const a = await client.chat.completions.create({ model: "m", messages, tools });
    const call = a.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall;
    expect(a.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call.function).toEqual({ name: "lookup", arguments: JSON.stringify({ query: completionWords("user: Find it").slice(0, 3).join(" ") }) });
    expect(a.usage!.completion_tokens).toBe(countText(demoTokenizer("m"), call.function.arguments));
    const stream = await client.chat.completions.create({ model: "m", messages, tools, stream: true });
    let args = "";
    for await (const c of stream) args += c.choices[0]?.delta.tool_calls?.[0]?.function?.arguments ?? "";
    expect(args).toBe(call.function.arguments);
    const b = await client.chat.completions.create({
      model: "m",
      tools,
      messages: [...messages, { role: "assistant", content: null, tool_calls: [call] }, { role: "tool", tool_call_id: call.id, content: "here" }],
    });
    expect(b.choices[0]!.message.content).toBe(expectedText("user: Find it\nassistant: \ntool: here"));
    expect((await client.chat.completions.create({ model: "m", messages, tools, tool_choice: "none" })).choices[0]!.message.tool_calls).toBeUndefined();
  });

  it("the reasoning model thinks first: reasoning_content streamed and not, its tokens reported inside completion_tokens and within max_tokens", async () => {
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "Why is the sky blue?" }];
    const prompt = "user: Why is the sky blue?";
    const thought = reasoningWords(prompt).join(" ");
    const answer = expectedText(prompt);
    const reasoning = countText("llama3", thought);
    const a = await client.chat.completions.create({ model: DEMO_REASONING_MODEL, messages });
    expect(reasoning).toBeGreaterThan(0);
    expect(a.choices[0]!.message).toMatchObject({ content: answer, reasoning_content: thought });
    expect(a.usage).toMatchObject({ completion_tokens: reasoning + countText("llama3", answer), completion_tokens_details: { reasoning_tokens: reasoning } });
    const stream = await client.chat.completions.create({ model: DEMO_REASONING_MODEL, messages, stream: true, stream_options: { include_usage: true } });
    let streamedThought = "";
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      streamedThought += (c.choices[0]?.delta as { reasoning_content?: string } | undefined)?.reasoning_content ?? "";
      text += c.choices[0]?.delta.content ?? "";
      usage = c.usage ?? usage;
    }
    expect([streamedThought, text]).toEqual([thought, answer]);
    expect(usage).toEqual(a.usage);
    // max_tokens bounds thought and answer together, as OpenAI's max_completion_tokens does.
    const capped = await client.chat.completions.create({ model: DEMO_REASONING_MODEL, messages, max_tokens: reasoning + 1 });
    expect(capped.usage!.completion_tokens).toBeLessThanOrEqual(reasoning + 1);
    expect(capped.usage!.completion_tokens_details!.reasoning_tokens).toBe(reasoning);
    expect(capped.choices[0]!.finish_reason).toBe("length");
    // Other models report none.
    const plain = await client.chat.completions.create({ model: "llama-3.1-8b-instruct", messages });
    expect(plain.usage!.completion_tokens_details).toEqual({ reasoning_tokens: 0 });
    expect(plain.choices[0]!.message).not.toHaveProperty("reasoning_content");
  });

  it("different prompts give different answers", async () => {
    const one = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "one" }] });
    const two = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "two" }] });
    expect(one.choices[0]!.message.content).not.toBe(two.choices[0]!.message.content);
  });

  it("honours max_tokens and says it stopped for length", async () => {
    const r = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "long story" }], max_tokens: 3 });
    expect(r.choices[0]!.message.content).toBe(fitting("user: long story", 3, "o200k_base"));
    expect(r.usage!.completion_tokens).toBe(countText("o200k_base", r.choices[0]!.message.content!));
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(3);
    expect(r.choices[0]!.finish_reason).toBe("length");
  });

  it("reports cached tokens for long prompts", async () => {
    const content = "The quick brown fox jumps over the lazy dog. ".repeat(200);
    const r = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content }], max_tokens: 1 });
    const prompt = 3 + countText("o200k_base", "user") + countText("o200k_base", content) + 3;
    expect(r.usage!.prompt_tokens).toBe(prompt);
    // Half the prompt, in whole 128-token blocks.
    expect(prompt).toBeGreaterThan(1024);
    expect(r.usage!.prompt_tokens_details!.cached_tokens).toBe(Math.floor(prompt / 2 / 128) * 128);
  });

  it("streams the same text, with a final usage chunk when asked", async () => {
    const stream = await client.chat.completions.create({
      model: "m",
      messages: [{ role: "user", content: "stream me" }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 5,
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | null | undefined;
    let finish: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) {
        expect(chunk.choices).toEqual([]);
        usage = chunk.usage;
      }
    }
    expect(text).toBe(fitting("user: stream me", 5, "o200k_base"));
    expect(finish).toBe("length");
    expect(usage).toMatchObject({ completion_tokens: countText("o200k_base", text), prompt_tokens_details: { cached_tokens: 0 } });
  });

  it("sends no usage chunk unless asked", async () => {
    const stream = await client.chat.completions.create({ model: "m", messages: [{ role: "user", content: "quiet" }], stream: true });
    for await (const chunk of stream) expect(chunk.usage ?? null).toBeNull();
  });

  it("answers legacy completions, streaming and not", async () => {
    const r = await client.completions.create({ model: "m", prompt: "Once upon", max_tokens: 4 });
    expect(r.choices[0]!.text).toBe(fitting("Once upon", 4, "o200k_base"));
    expect(r.usage).toMatchObject({ prompt_tokens: countText("o200k_base", "Once upon"), completion_tokens: countText("o200k_base", r.choices[0]!.text) });
    let text = "";
    for await (const c of await client.completions.create({ model: "m", prompt: "Once upon", max_tokens: 4, stream: true })) text += c.choices[0]?.text ?? "";
    expect(text).toBe(r.choices[0]!.text);
  });

  it("returns deterministic unit-length embeddings (the client asks for base64)", async () => {
    const r = await client.embeddings.create({ model: "demo-embed-small", input: ["alpha", "beta", "alpha"] });
    expect(r.data).toHaveLength(3);
    const [a, b, a2] = r.data.map((d) => d.embedding);
    expect(a).toHaveLength(16);
    expect(a2).toEqual(a);
    expect(b).not.toEqual(a);
    expect(Math.hypot(...a!)).toBeCloseTo(1, 5);
    const floats = await client.embeddings.create({ model: "demo-embed-small", input: "alpha", encoding_format: "float", dimensions: 8 });
    expect(floats.data[0]!.embedding).toHaveLength(8);
    expect(r.usage.prompt_tokens).toBe(2 * countText("o200k_base", "alpha") + countText("o200k_base", "beta"));
  });

  it("refuses a wrong key like OpenAI does", async () => {
    const wrong = new OpenAI({ baseURL: upstream.url, apiKey: "nope", maxRetries: 0 });
    await expect(wrong.models.list()).rejects.toMatchObject({ status: 401 });
  });

  it("paces tokens and delays the first one", async () => {
    const slow = await startDemoUpstream({ delayMs: 100, tokensPerSecond: 50 });
    try {
      const c = new OpenAI({ baseURL: slow.url, apiKey: "x", maxRetries: 0 });
      const started = performance.now();
      await c.chat.completions.create({ model: "m", messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
      // 100 ms before the first token + 5 tokens at 50/s (100 ms).
      expect(performance.now() - started).toBeGreaterThanOrEqual(190);
    } finally {
      await slow.close();
    }
  });
});

describe("demo upstream energy: a simulated hardware profile per listing", () => {
  const declared = (org: string, modelSlug: string) => demoListings.find((l) => l.org === org && l.modelSlug === modelSlug)!.tokensPerWatt;
  const honest = DEMO_ENERGY_PROFILES.filter((p) => Math.abs(p.tokensPerJoule / declared(p.org, p.modelSlug) - 1) <= 0.1);
  const overDeclared = DEMO_ENERGY_PROFILES.filter((p) => p.tokensPerJoule < declared(p.org, p.modelSlug) * 0.8);

  it("one honest profile (within ±10 % of the seed's declared figure) and one over-declaring (well below), by header and by body", () => {
    expect(honest.map((p) => p.via)).toContain("header");
    expect(overDeclared.length).toBeGreaterThan(0);
    expect(new Set(DEMO_ENERGY_PROFILES.map((p) => p.via))).toEqual(new Set(["header", "body"]));
    expect(honest.length + overDeclared.length).toBe(DEMO_ENERGY_PROFILES.length);
  });

  it("reports each response's joules as its profile says: header, JSON body, or the stream's usage chunk; nothing for other listings", async () => {
    const up = await startDemoUpstream();
    try {
      const ask = async (credential: string, stream: boolean) => {
        const r = await fetch(`${up.url}/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${credential}`, "content-type": "application/json" },
          body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "watts" }], stream, stream_options: { include_usage: true } }),
        });
        const text = await r.text();
        const usage = stream
          ? (
              JSON.parse(
                text
                  .split("\n\n")
                  .filter((e) => e.includes('"usage"'))[0]!
                  .slice(6),
              ) as { usage: Record<string, number> }
            ).usage
          : (JSON.parse(text) as { usage: Record<string, number> }).usage;
        return { header: r.headers.get("x-energy-joules"), usage, tokens: usage.prompt_tokens! + usage.completion_tokens! };
      };
      for (const p of DEMO_ENERGY_PROFILES) {
        for (const stream of [false, true]) {
          const a = await ask(demoUpstreamCredential(p.org, p.modelSlug), stream);
          const joules = demoEnergyJoules(p, a.tokens);
          expect(joules).toBeGreaterThan(0);
          if (p.via === "header") expect([a.header, a.usage.energy_joules]).toEqual([joules.toFixed(6), undefined]);
          else expect([a.header, a.usage.energy_joules]).toEqual([null, joules]);
        }
      }
      const plain = await ask(demoUpstreamCredential("demo-provider", "llama-3.1-8b"), false);
      expect([plain.header, plain.usage.energy_joules]).toEqual([null, undefined]);
    } finally {
      await up.close();
    }
  });
});
