import Anthropic from "@anthropic-ai/sdk";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import type { CreateKeyInput } from "../keys/inputs";
import { getBalance } from "../ledger/service";
import { usageCostNano } from "../ledger/money";
import { countText } from "../tokens/encoders";
import { chatPromptTokens } from "../tokens/prompt";
import { DEFAULT_TOKENIZER } from "../tokens/rules";
import { cachedTokens, completionWords, demoTokenizer } from "../upstream-demo/server";
import { messagesToChat } from "./dialects/messages/request";
import { drained } from "./spawn";
import { usdNano } from "./testing";
import { type Buyer, demoMarketPerFile, fundedBuyer } from "../testing/proxy-process";

/**
 * POST /v1/messages end to end: the proxy as its own process, the real backend
 * (tRPC router, settlement, ledger over a fresh database), the demo upstream,
 * the official @anthropic-ai/sdk. Each answer's cost is found settled, once, in
 * usage_events and in the buyer's ledger account; refusals write nothing.
 */

const m = demoMarketPerFile();
const MODEL = "demo-provider/llama-3.1-8b";
/** The seeded listing's tokenizer, the demo upstream's for its model too. */
const TOKENIZER = demoTokenizer("llama-3.1-8b-instruct");

/** A fresh organisation with `creditNano` of paid credit and one API key. */
const buyer = (creditNano: bigint, limits: CreateKeyInput = { name: "claude" }) => fundedBuyer(m.backend, creditNano, limits);

const claude = (b: Buyer) => new Anthropic({ baseURL: m.proxy.url, apiKey: b.secret, maxRetries: 0 });
type CostUsage = Anthropic.Usage & { cost: string };

/** A buyer's usage events with whether their batch is settled into the ledger. */
async function events(b: Buyer) {
  const r = await m.backend.t.db.execute<{ id: string; cost_nano: string; status: string; settled: boolean }>(sql`
    select e.id, e.cost_nano::text as cost_nano, e.status, (b.settled_at is not null or e.settlement_id is not null) as settled
    from usage_events e left join usage_batches b on b.seq = e.batch_seq
    where e.org_id = ${b.orgId}`);
  return r.rows;
}

async function reservationsOf(b: Buyer) {
  return (await m.backend.t.db.execute(sql`select id from reservations where org_id = ${b.orgId}`)).rows.length;
}

describe("the Anthropic SDK through the proxy, billed by the real backend", () => {
  it("create, stream, a tool-use round trip and an image: what the client sees is right, and each request settles once at the cost it reported", async () => {
    const b = await buyer(10_000_000_000n);
    const reported: { id: string; cost: string }[] = [];

    const created = await claude(b)
      .messages.create({ model: MODEL, max_tokens: 100, system: "Be brief", messages: [{ role: "user", content: "Hello" }] })
      .withResponse();
    expect(created.data.content).toEqual([{ type: "text", text: completionWords("system: Be brief\nuser: Hello").join(" ") }]);
    expect(created.data.stop_reason).toBe("end_turn");
    expect(created.data.usage.output_tokens).toBe(countText(TOKENIZER, completionWords("system: Be brief\nuser: Hello").join(" ")));
    reported.push({ id: created.response.headers.get("x-request-id")!, cost: (created.data.usage as CostUsage).cost });

    const stream = claude(b).messages.stream({ model: "llama-3.1-8b", max_tokens: 100, messages: [{ role: "user", content: "Stream" }] });
    let text = "";
    let streamCost = "";
    stream.on("text", (t) => {
      text += t;
    });
    stream.on("streamEvent", (e) => {
      if (e.type === "message_delta") streamCost = (e.usage as unknown as CostUsage).cost;
    });
    const final = await stream.finalMessage();
    expect(text).toBe(completionWords("user: Stream").join(" "));
    expect(final.usage.output_tokens).toBe(countText(TOKENIZER, completionWords("user: Stream").join(" ")));
    reported.push({ id: final.id, cost: streamCost });

    const tool: Anthropic.Tool = { name: "lookup", input_schema: { type: "object", properties: { term: { type: "string" } } } };
    const ask: Anthropic.MessageParam = { role: "user", content: "Look up watts" };
    const call = await claude(b)
      .messages.create({ model: MODEL, max_tokens: 100, tools: [tool], messages: [ask] })
      .withResponse();
    expect(call.data.stop_reason).toBe("tool_use");
    const use = call.data.content[0] as Anthropic.ToolUseBlock;
    expect(use).toMatchObject({ type: "tool_use", name: "lookup", input: { query: completionWords("user: Look up watts").slice(0, 3).join(" ") } });
    reported.push({ id: call.response.headers.get("x-request-id")!, cost: (call.data.usage as CostUsage).cost });
    const answer = await claude(b)
      .messages.create({
        model: MODEL,
        max_tokens: 100,
        tools: [tool],
        messages: [
          ask,
          { role: "assistant", content: call.data.content },
          { role: "user", content: [{ type: "tool_result", tool_use_id: use.id, content: "1 W = 1 J/s" }] },
        ],
      })
      .withResponse();
    expect(answer.data.content).toEqual([{ type: "text", text: completionWords("user: Look up watts\nassistant: \ntool: 1 W = 1 J/s").join(" ") }]);
    reported.push({ id: answer.response.headers.get("x-request-id")!, cost: (answer.data.usage as CostUsage).cost });

    const image = await claude(b)
      .messages.create({
        model: MODEL,
        max_tokens: 20,
        messages: [
          {
            role: "user",
            content: [
              { type: "image", source: { type: "base64", media_type: "image/png", data: Buffer.from("89504e470d0a1a0a", "hex").toString("base64") } },
              { type: "text", text: "Describe" },
            ],
          },
        ],
      })
      .withResponse();
    // As many of the demo's words as fit in max_tokens.
    const described = (image.data.content[0] as Anthropic.TextBlock).text;
    expect(described).not.toBe("");
    expect(completionWords("user: Describe").join(" ").startsWith(described)).toBe(true);
    expect(countText(TOKENIZER, described)).toBeLessThanOrEqual(20);
    reported.push({ id: image.response.headers.get("x-request-id")!, cost: (image.data.usage as CostUsage).cost });

    await drained(m.proxy);
    const rows = await events(b);
    const ids = reported.map((r) => (r.id.startsWith("msg_") ? r.id.slice(4).replace(/^(.{8})(.{4})(.{4})(.{4})/, "$1-$2-$3-$4-") : r.id));
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    let total = 0n;
    for (const [i, r] of reported.entries()) {
      const row = rows.find((e) => e.id === ids[i])!;
      expect(row).toMatchObject({ status: "ok", settled: true });
      expect(BigInt(row.cost_nano)).toBe(usdNano(r.cost));
      expect(usdNano(r.cost)).toBeGreaterThan(0n);
      total += usdNano(r.cost);
    }
    expect((await getBalance(m.backend.t.db, { accountId: b.account.id })).debitsPosted).toBe(total);
  });
});

describe("cache reads", () => {
  it("a prompt the upstream serves partly from its cache: cache_read_input_tokens apart from input_tokens, billed at the cached price", async () => {
    const b = await buyer(10_000_000_000n);
    // Past the 1,024 tokens from which the demo serves part of a prompt from its cache.
    const prompt = "ledger ".repeat(1500);
    const stream = claude(b).messages.stream({ model: MODEL, max_tokens: 10, messages: [{ role: "user", content: prompt }] });
    let usage: CostUsage | null = null;
    stream.on("streamEvent", (e) => {
      if (e.type === "message_delta") usage = e.usage as unknown as CostUsage;
    });
    const final = await stream.finalMessage();
    const promptTokens = chatPromptTokens(TOKENIZER, { messages: [{ role: "user", content: prompt }] });
    const cached = cachedTokens(promptTokens);
    expect(cached).toBeGreaterThan(0);
    expect(usage).toMatchObject({ input_tokens: promptTokens - cached, cache_read_input_tokens: cached, cache_creation_input_tokens: 0 });
    expect(final.usage).toMatchObject({ input_tokens: promptTokens - cached, cache_read_input_tokens: cached });
    const created = await claude(b).messages.create({ model: MODEL, max_tokens: 10, messages: [{ role: "user", content: prompt }] });
    expect(created.usage).toMatchObject({ input_tokens: promptTokens - cached, cache_read_input_tokens: cached });
    await drained(m.proxy);
    const rows = await m.backend.t.db.execute<{ cached_input_tokens: number; input_tokens: number; cost_nano: string }>(
      sql`select cached_input_tokens, input_tokens, cost_nano::text as cost_nano from usage_events where org_id = ${b.orgId} order by id`,
    );
    expect(rows.rows.map((r) => [r.input_tokens, r.cached_input_tokens])).toEqual([
      [promptTokens - cached, cached],
      [promptTokens - cached, cached],
    ]);
    expect(rows.rows.map((r) => BigInt(r.cost_nano))).toEqual([usdNano(usage!.cost), usdNano((created.usage as CostUsage).cost)]);
    const [p] = (
      await m.backend.t.db.execute<{ i: string; o: string; c: string }>(sql`
        select p.input_per1k_nano::text as i, p.output_per1k_nano::text as o, p.cached_input_per1k_nano::text as c
        from listing_prices p join listings l on l.id = p.listing_id
        where l.slug = ${MODEL} and p.effective_from <= now() order by p.effective_from desc limit 1`)
    ).rows;
    const prices = { inputPer1kNano: BigInt(p!.i), outputPer1kNano: BigInt(p!.o), cachedInputPer1kNano: BigInt(p!.c) };
    expect(prices.cachedInputPer1kNano).not.toBe(prices.inputPer1kNano);
    expect(usdNano(usage!.cost)).toBe(usageCostNano({ input: promptTokens - cached, output: final.usage.output_tokens, cachedInput: cached }, prices));
  });
});

describe("messages.countTokens", () => {
  it("counts the prompt as the proxy holds for it, without max_tokens, holding and billing nothing; bad input is refused as on /v1/messages", async () => {
    const b = await buyer(10_000_000_000n);
    const params = {
      model: MODEL,
      system: "Be brief",
      tools: [{ name: "lookup", input_schema: { type: "object" as const, properties: { term: { type: "string" } } } }],
      // Chinese and an emoji: the listing's tokenizer (llama3) counts them apart from the fallback (o200k_base).
      messages: [{ role: "user" as const, content: "How many tokens is this? 令牌计数：这个提示有多少个令牌？数据库事务的一致性 🚀" }],
    };
    const counted = await claude(b).messages.countTokens(params);
    const chat = messagesToChat({ ...params, max_tokens: 1 });
    if (!("chat" in chat)) throw new Error(chat.message);
    expect(counted.input_tokens).toBe(chatPromptTokens(TOKENIZER, chat.chat));
    expect(counted.input_tokens).not.toBe(chatPromptTokens(DEFAULT_TOKENIZER, chat.chat));
    expect(counted.input_tokens).toBeGreaterThan(10);
    await expect(claude(b).messages.countTokens({ ...params, messages: [{ role: "system" as "user", content: "x" }] })).rejects.toMatchObject({
      status: 400,
      error: { type: "error", error: { type: "invalid_request_error", message: expect.stringMatching(/^messages\[0\]\.role: /) } },
    });
    await expect(new Anthropic({ baseURL: m.proxy.url, apiKey: "tm_nobody", maxRetries: 0 }).messages.countTokens(params)).rejects.toMatchObject({
      status: 401,
    });
    expect(await reservationsOf(b)).toBe(0);
    expect(await events(b)).toEqual([]);
  });
});

async function post(secret: string, body: unknown) {
  const r = await fetch(`${m.proxy.url}/v1/messages`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": secret, "anthropic-version": "2023-06-01" },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: (await r.json()) as unknown };
}

describe("refusals in Anthropic's shape, writing nothing", () => {
  it("bad input (missing max_tokens, an unknown tool_use id, a wrong block type) is a 400 invalid_request_error naming the field; no hold, no event", async () => {
    const b = await buyer(10_000_000_000n);
    const cases: [unknown, string][] = [
      [{ model: MODEL, messages: [{ role: "user", content: "hi" }] }, "max_tokens"],
      [
        { model: MODEL, max_tokens: 5, messages: [{ role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_x", content: "?" }] }] },
        "messages[0].content[0].tool_use_id",
      ],
      [{ model: MODEL, max_tokens: 5, messages: [{ role: "user", content: [{ type: "video" }] }] }, "messages[0].content[0].type"],
    ];
    for (const [body, field] of cases) {
      expect(await post(b.secret, body)).toEqual({
        status: 400,
        body: {
          type: "error",
          error: { type: "invalid_request_error", code: "invalid_value", message: expect.stringMatching(new RegExp(`^${field.replace(/[[\].]/g, "\\$&")}: `)) },
        },
      });
    }
    expect(await reservationsOf(b)).toBe(0);
    expect(await events(b)).toEqual([]);
  });

  it("401, 402, 403 and 429 answer Anthropic's error types", async () => {
    const ask = { model: MODEL, max_tokens: 5, messages: [{ role: "user", content: "hi" }] };
    expect(await post("tm_not_a_key", ask)).toMatchObject({ status: 401, body: { type: "error", error: { type: "authentication_error" } } });
    const broke = await buyer(0n);
    expect(await post(broke.secret, ask)).toMatchObject({ status: 402, body: { type: "error", error: { type: "billing_error" } } });
    expect(await events(broke)).toEqual([]);
    const narrow = await buyer(10_000_000_000n, { name: "qwen only", modelAllowlist: ["qwen2.5-7b"] });
    expect(await post(narrow.secret, ask)).toMatchObject({ status: 403, body: { type: "error", error: { type: "permission_error" } } });
    const slow = await buyer(10_000_000_000n, { name: "one a minute", rpmLimit: 1 });
    expect((await post(slow.secret, ask)).status).toBe(200);
    expect(await post(slow.secret, ask)).toMatchObject({ status: 429, body: { type: "error", error: { type: "rate_limit_error" } } });
  });
});
