import http from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listingPrices, listings } from "../../db/schema";
import type { CreateKeyInput } from "../keys/inputs";
import { getBalance } from "../ledger/service";
import { uuidv7 } from "../lib/ids";
import type { TestBackend } from "../testing/backend";
import { completionWords, startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { usdNano } from "./testing";
import { drained, type GatewayProcess } from "./spawn";
import { type Buyer, type DemoMarket, fundedBuyer, type ProxyProcess, startDemoMarket, startProxyProcess } from "../testing/proxy-process";

/**
 * Issue 8's acceptance, end to end: the proxy as its own process, the real
 * backend (the app's tRPC router with settlement, over a fresh database), the
 * demo upstream, the official openai client. Money is checked in the ledger.
 */

let market: DemoMarket;
let backend: TestBackend;
let slowUpstream: DemoUpstream;
const proxies: ProxyProcess[] = [];

/** A fresh organisation with `creditNano` of paid credit and one API key. */
const buyer = (creditNano: bigint, limits: CreateKeyInput = { name: "acceptance" }) => fundedBuyer(backend, creditNano, limits);

/** A proxy process over the real backend (on `spoolDir` when given: a restart), stopped with SIGKILL after the file. */
async function startProxy(env: Record<string, string> = {}, spoolDir?: string) {
  // Every upstream here listens on loopback: the listings' hosts are let through the outbound policy.
  const p = await startProxyProcess({ backendUrl: backend.url, serviceToken: backend.serviceToken, upstreams: await market.upstreamUrls(), env, spoolDir });
  proxies.push(p);
  return { g: p.proxy, dir: p.spoolDir };
}

async function generation(g: GatewayProcess, secret: string, id: string) {
  const r = await fetch(`${g.url}/v1/generation?id=${id}`, { headers: { authorization: `Bearer ${secret}` } });
  return { status: r.status, body: (await r.json()) as { data: { total_cost: string; tokens_completion: number; status: string; model: string } } };
}

/** Settled usage of a buyer = what the ledger debited its credits account. */
async function settledNano(b: Buyer): Promise<bigint> {
  return (await getBalance(backend.t.db, { accountId: b.account.id })).debitsPosted;
}

beforeAll(async () => {
  market = await startDemoMarket();
  backend = market.backend;
  slowUpstream = await startDemoUpstream({ tokensPerSecond: 40 });
  // A slow listing of the demo provider's 8B model, for disconnects mid-stream.
  const [base] = await backend.t.db.select().from(listings).limit(1);
  const id = uuidv7();
  await backend.t.db.insert(listings).values({
    ...base!,
    id,
    slug: `${base!.slug.split("/")[0]}/slow-8b`,
    modelSlug: "slow-8b",
    family: "slow-8b",
    modalities: ["chat"],
    upstreamBaseUrl: slowUpstream.url,
    upstreamModel: "llama-3.1-8b-instruct",
    upstreamCredentialEnc: null,
    upstreamCredentialLast4: null,
    status: "published",
  });
  await backend.t.db
    .insert(listingPrices)
    .values({ listingId: id, effectiveFrom: new Date(Date.now() - 60_000), inputPer1kNano: 50_000n, outputPer1kNano: 80_000n, cachedInputPer1kNano: 25_000n });
});

afterAll(async () => {
  // Killed, as a crash would: each stop also removes its spool (a restart's is removed once, by its first stop).
  for (const p of proxies) await p.stop("SIGKILL");
  await market?.close();
  await slowUpstream?.close();
});

describe("1. the openai client through the proxy, billed by the real backend", () => {
  it("chat (streamed and not), completions, embeddings: each answer's x-request-id settles once at the cost it reported", async () => {
    const b = await buyer(10_000_000_000n);
    const { g } = await startProxy();
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: b.secret, maxRetries: 0 });
    const ids: { id: string; cost: string }[] = [];
    const chat = await client.chat.completions.create({ model: "demo-provider/llama-3.1-8b", messages: [{ role: "user", content: "Hello" }] }).withResponse();
    expect(chat.data.choices[0]!.message.content).toBe(completionWords("user: Hello").join(" "));
    ids.push({ id: chat.response.headers.get("x-request-id")!, cost: (chat.data.usage as unknown as { cost: string }).cost });

    const stream = await client.chat.completions
      .create({ model: "llama-3.1-8b", messages: [{ role: "user", content: "Stream" }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let cost = "";
    for await (const c of stream.data) if (c.usage) cost = (c.usage as unknown as { cost: string }).cost;
    ids.push({ id: stream.response.headers.get("x-request-id")!, cost });

    const text = await client.completions.create({ model: "qwen2.5-7b", prompt: "Once", max_tokens: 4 }).withResponse();
    ids.push({ id: text.response.headers.get("x-request-id")!, cost: (text.data.usage as unknown as { cost: string }).cost });

    const emb = await client.embeddings.create({ model: "demo-provider/demo-embed-small", input: "vector" }).withResponse();
    ids.push({ id: emb.response.headers.get("x-request-id")!, cost: (emb.data.usage as unknown as { cost: string }).cost });

    await drained(g);
    let total = 0n;
    for (const { id, cost: reported } of ids) {
      const gen = await generation(g, b.secret, id);
      expect(gen.status).toBe(200);
      expect(gen.body.data.total_cost).toBe(reported);
      total += usdNano(reported);
    }
    expect(await settledNano(b)).toBe(total);
  });

  it("the client's automatic retries after a 502 bill the request once", async () => {
    const b = await buyer(10_000_000_000n);
    // An upstream that fails the first two attempts, then answers like the demo.
    let failures = 2;
    const flaky = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (failures-- > 0) {
        res.writeHead(503, { "content-type": "application/json" });
        return res.end('{"error":{"message":"overloaded","type":"server_error","param":null,"code":null}}');
      }
      const r = await fetch(`${market.upstream.url}/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: Buffer.concat(chunks),
      });
      res.writeHead(r.status, { "content-type": "application/json" });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
    await new Promise<void>((r) => flaky.listen(0, "127.0.0.1", r));
    const [base] = await backend.t.db.select().from(listings).limit(1);
    const id = uuidv7();
    await backend.t.db.insert(listings).values({
      ...base!,
      id,
      slug: `${base!.slug.split("/")[0]}/flaky-8b`,
      modelSlug: "flaky-8b",
      family: "flaky-8b",
      modalities: ["chat"],
      upstreamBaseUrl: `http://127.0.0.1:${(flaky.address() as AddressInfo).port}/v1`,
      upstreamCredentialEnc: null,
      upstreamCredentialLast4: null,
      status: "published",
    });
    await backend.t.db.insert(listingPrices).values({
      listingId: id,
      effectiveFrom: new Date(Date.now() - 60_000),
      inputPer1kNano: 50_000n,
      outputPer1kNano: 80_000n,
      cachedInputPer1kNano: 25_000n,
    });
    const { g } = await startProxy();
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: b.secret, maxRetries: 2 });
    const r = await client.chat.completions.create({ model: `${base!.slug.split("/")[0]}/flaky-8b`, messages: [{ role: "user", content: "retry" }] });
    expect(failures).toBe(-1);
    await drained(g);
    expect(await settledNano(b)).toBe(usdNano((r.usage as unknown as { cost: string }).cost));
    flaky.closeAllConnections();
    flaky.close();
  });
});

describe("1. errors that involve credit and upstreams, through the real backend", () => {
  async function failure(p: Promise<unknown>) {
    try {
      await p;
    } catch (err) {
      if (err instanceof OpenAI.APIError)
        return { status: err.status, error: err.error as { code: string; type: string; message: string }, retry: err.headers?.get("x-should-retry") };
      throw err;
    }
    throw new Error("expected the call to fail");
  }

  it("402 without credit, 402 naming affordable max_tokens, 402 at the key's spend limit; nothing billed", async () => {
    const { g } = await startProxy();
    const broke = await buyer(0n);
    const none = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: broke.secret, maxRetries: 0 });
    expect(await failure(none.chat.completions.create({ model: "llama-3.1-8b", messages: [{ role: "user", content: "x" }] }))).toMatchObject({
      status: 402,
      error: { code: "insufficient_credit", type: "insufficient_quota" },
      retry: "false",
    });
    const little = await buyer(100_000n); // $0.0001
    const some = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: little.secret, maxRetries: 0 });
    const f = await failure(
      some.chat.completions.create({ model: "demo-provider/llama-3.1-70b", messages: [{ role: "user", content: "x" }], max_tokens: 100_000 }),
    );
    expect(f.status).toBe(402);
    expect(f.error.message).toMatch(/You requested up to 100000 tokens, but can only afford \d+/);
    const limited = await buyer(10_000_000_000n, { name: "tiny limit", spendLimitUsd: "0.000001", limitPeriod: "daily" });
    const capped = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: limited.secret, maxRetries: 0 });
    expect(
      await failure(capped.chat.completions.create({ model: "demo-provider/llama-3.1-70b", messages: [{ role: "user", content: "x" }], max_tokens: 1000 })),
    ).toMatchObject({
      status: 402,
      error: { code: "key_limit_reached", type: "insufficient_quota" },
    });
    await drained(g);
    for (const b of [broke, little, limited]) expect(await settledNano(b)).toBe(0n);
  });

  it("after the first streamed byte a broken upstream ends the stream with an SSE error chunk; what streamed is billed", async () => {
    const b = await buyer(10_000_000_000n);
    const broken = http.createServer((req, res) => {
      req.resume();
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write('data: {"choices":[{"index":0,"delta":{"content":"alpha"}}]}\n\n');
      res.write('data: {"choices":[{"index":0,"delta":{"content":" beta"}}]}\n\n');
      setTimeout(() => res.destroy(), 30);
    });
    await new Promise<void>((r) => broken.listen(0, "127.0.0.1", r));
    const [base] = await backend.t.db.select().from(listings).limit(1);
    const org = base!.slug.split("/")[0];
    const id = uuidv7();
    await backend.t.db.insert(listings).values({
      ...base!,
      id,
      slug: `${org}/broken-8b`,
      modelSlug: "broken-8b",
      family: "broken-8b",
      modalities: ["chat"],
      upstreamBaseUrl: `http://127.0.0.1:${(broken.address() as AddressInfo).port}/v1`,
      upstreamCredentialEnc: null,
      upstreamCredentialLast4: null,
      status: "published",
    });
    await backend.t.db.insert(listingPrices).values({
      listingId: id,
      effectiveFrom: new Date(Date.now() - 60_000),
      inputPer1kNano: 50_000n,
      outputPer1kNano: 80_000n,
      cachedInputPer1kNano: 25_000n,
    });
    const { g } = await startProxy();
    const r = await fetch(`${g.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${b.secret}`, "content-type": "application/json" },
      body: JSON.stringify({ model: `${org}/broken-8b`, messages: [{ role: "user", content: "x" }], stream: true }),
    });
    expect(r.status).toBe(200);
    const events = (await r.text()).trim().split("\n\n");
    expect(JSON.parse(events.at(-1)!.slice("data: ".length))).toMatchObject({ error: { code: "upstream_error", type: "api_error" } });
    await drained(g);
    const gen = await generation(g, b.secret, r.headers.get("x-request-id")!);
    expect(gen.body.data).toMatchObject({ status: "error", tokens_completion: 2 });
    expect(await settledNano(b)).toBe(usdNano(gen.body.data.total_cost));
    broken.closeAllConnections();
    broken.close();
  });
});

describe("2. credit control under a burst", () => {
  it("200 concurrent streams from an organisation with $0.05: settled ≤ credit + credit limit; the uncovered get 402", async () => {
    const b = await buyer(50_000_000n);
    const { g } = await startProxy();
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: b.secret, maxRetries: 0 });
    const outcomes = await Promise.all(
      Array.from({ length: 200 }, async (_, i) => {
        try {
          // No max_tokens: the proxy holds its default (4096 output tokens ≈ $0.0032 at $0.79/1M) and clamps to what is left.
          const s = await client.chat.completions.create({
            model: "demo-provider/llama-3.1-70b",
            messages: [{ role: "user", content: `burst ${i}` }],
            stream: true,
          });
          for await (const _ of s) {
            // read it all
          }
          return 200;
        } catch (err) {
          if (err instanceof OpenAI.APIError) return err.status;
          throw err;
        }
      }),
    );
    const served = outcomes.filter((s) => s === 200).length;
    const refused = outcomes.filter((s) => s === 402).length;
    console.log(`burst: ${served} served, ${refused} refused (402)`);
    expect(served + refused).toBe(200);
    expect(served).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
    await drained(g);
    const account = await getBalance(backend.t.db, { accountId: b.account.id });
    expect(account.debitsPosted).toBeGreaterThan(0n);
    expect(account.debitsPosted).toBeLessThanOrEqual(50_000_000n + account.creditLimitNano);
  });
});

describe("3. a crash loses nothing that completed", () => {
  it("SIGKILL mid-traffic, restart on the same spool: every completed request is billed exactly once", async () => {
    const b = await buyer(10_000_000_000n);
    // Reports every 10 s: everything answered before the kill is still only in the spool.
    const { g, dir } = await startProxy({ GATEWAY_REPORT_INTERVAL_MS: "10000" });
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: b.secret, maxRetries: 0, timeout: 5_000 });
    const completed: { id: string; cost: bigint }[] = [];
    let killed = false;
    const worker = async (w: number) => {
      for (let i = 0; !killed; i++) {
        try {
          const r = await client.chat.completions
            .create({ model: "demo-provider/llama-3.1-8b", messages: [{ role: "user", content: `crash ${w}.${i}` }] })
            .withResponse();
          completed.push({ id: r.response.headers.get("x-request-id")!, cost: usdNano((r.data.usage as unknown as { cost: string }).cost) });
        } catch {
          // the kill
        }
      }
    };
    const traffic = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    while (completed.length < 40) await new Promise((r) => setTimeout(r, 5));
    await g.stop("SIGKILL");
    killed = true;
    await traffic;
    console.log(`crash: ${completed.length} completed before SIGKILL`);
    expect(await settledNano(b)).toBe(0n);

    const restarted = (await startProxy({}, dir)).g;
    await drained(restarted);
    for (const { id, cost } of completed) {
      const gen = await generation(restarted, b.secret, id);
      expect(gen.status).toBe(200);
      expect(usdNano(gen.body.data.total_cost)).toBe(cost);
    }
    // Exactly once: one settled event per id, and the ledger debited exactly their sum. Besides the
    // completed requests, at most one per worker may have been answered upstream, journalled and
    // cut off by the kill before its client read it: produced, so billed too.
    const settled = await backend.t.pool.query<{ id: string; cost_nano: bigint }>("select id, cost_nano from usage_events where key_id = $1", [b.keyId]);
    expect(new Set(settled.rows.map((r) => r.id)).size).toBe(settled.rows.length);
    expect(settled.rows.length - completed.length).toBeGreaterThanOrEqual(0);
    expect(settled.rows.length - completed.length).toBeLessThanOrEqual(8);
    expect(await settledNano(b)).toBe(settled.rows.reduce((s, r) => s + BigInt(r.cost_nano), 0n));
    // Two proxy starts, each loading the tokenizers its catalog names (seconds each on a busy machine).
  }, 60_000);
});

describe("4. a client that disconnects mid-stream", () => {
  it("is billed for the tokens produced: not the whole answer, not zero", async () => {
    const b = await buyer(10_000_000_000n);
    const { g } = await startProxy();
    const client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: b.secret, maxRetries: 0 });
    const prompt = "a long story about watts";
    const whole = completionWords(`user: ${prompt}`).length;
    const controller = new AbortController();
    const s = await client.chat.completions
      .create({ model: "demo-provider/slow-8b", messages: [{ role: "user", content: prompt }], stream: true }, { signal: controller.signal })
      .withResponse();
    const id = s.response.headers.get("x-request-id")!;
    let received = 0;
    try {
      for await (const c of s.data) {
        if (c.choices[0]?.delta.content) received++;
        if (received === 4) controller.abort();
      }
    } catch {
      // aborted
    }
    await new Promise((r) => setTimeout(r, 200));
    await drained(g);
    const gen = await generation(g, b.secret, id);
    expect(gen.status).toBe(200);
    console.log(`disconnect: ${gen.body.data.tokens_completion} of ${whole} tokens billed, cost ${gen.body.data.total_cost}`);
    expect(gen.body.data.status).toBe("aborted");
    expect(gen.body.data.tokens_completion).toBeGreaterThanOrEqual(4);
    expect(gen.body.data.tokens_completion).toBeLessThan(whole);
    expect(usdNano(gen.body.data.total_cost)).toBeGreaterThan(0n);
    expect(await settledNano(b)).toBe(usdNano(gen.body.data.total_cost));
    // A proxy start (loading its catalog's tokenizers) and a paced stream.
  }, 60_000);
});
