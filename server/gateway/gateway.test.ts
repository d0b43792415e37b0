import fs from "node:fs";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { usageCostNano, usdDecimal } from "../ledger/money";
import { completionWords, startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { FakeBackend, fakeListing } from "./fake-backend";
import { holdLife, metricsRefusal, startGateway, type Gateway } from "./server";
import { countText } from "../tokens/encoders";
import { forward, reported, TEST_GATEWAY_CONFIG } from "./testing";

/**
 * The proxy's own logic through the official openai client, against the demo
 * upstream and an in-memory backend (fast to steer: balances, outages). The
 * same behaviour against the real backend and the proxy as a child process:
 * gateway.int.test.ts.
 */

let upstream: DemoUpstream;
let flaky: { url: string; close: () => Promise<void>; failures: number; calls: number };
let backend: FakeBackend;
let gateway: Gateway;
let spoolDir: string;
const SECRET = "sk-test-buyer";
const ORG = "org-buyer";

/** An upstream that answers 500 `failures` times, then like the demo; path /broken streams two chunks then drops the connection. */
async function startFlaky(target: string) {
  const state = { failures: 0, calls: 0 };
  const server = http.createServer(async (req, res) => {
    state.calls++;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (req.url?.startsWith("/broken")) {
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.write(`data: {"choices":[{"index":0,"delta":{"content":"one"}}]}\n\n`);
      res.write(`data: {"choices":[{"index":0,"delta":{"content":" two"}}]}\n\n`);
      setTimeout(() => res.destroy(), 20);
      return;
    }
    if (state.failures > 0) {
      state.failures--;
      res.writeHead(500, { "content-type": "application/json" });
      res.end(JSON.stringify({ error: { message: "boom", type: "server_error", param: null, code: null } }));
      return;
    }
    await forward(target, req, Buffer.concat(chunks), res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(state, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  });
}

/** The outbound policy with this file's local upstreams listed (they listen on loopback). */
const outbound = { allowPrivate: new Set<string>(), ownPorts: new Set<number>() };

const client = (opts: { apiKey?: string; maxRetries?: number } = {}) =>
  new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: opts.apiKey ?? SECRET, maxRetries: opts.maxRetries ?? 0 });

async function start() {
  gateway = await startGateway({ outbound, backend, spoolDir, ...TEST_GATEWAY_CONFIG }, { port: 0 });
}

beforeAll(async () => {
  upstream = await startDemoUpstream();
  flaky = await startFlaky(upstream.url);
  for (const u of [upstream.url, flaky.url]) outbound.allowPrivate.add(new URL(u).host);
});
afterAll(async () => {
  await upstream.close();
  await flaky.close();
});

beforeEach(async () => {
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gw-spool-"));
  backend = new FakeBackend();
  backend.listings = [
    fakeListing(upstream.url, { slug: "prov/llama-3.1-8b", family: "llama-3.1-8b" }),
    fakeListing(upstream.url, { slug: "green/llama-3.1-8b", family: "llama-3.1-8b", input: 60_000n, output: 90_000n, modalities: ["chat"] }),
    fakeListing(upstream.url, { slug: "prov/demo-embed-small", upstreamModel: "demo-embed-small", modalities: ["embeddings"], input: 20_000n, output: 0n }),
    fakeListing(upstream.url, { slug: "prov/qwen2.5-7b", upstreamModel: "qwen2.5-7b-instruct" }),
  ];
  backend.addKey(SECRET, ORG);
  backend.balances.set(ORG, 10_000_000_000n);
  await start();
});
afterEach(async () => {
  await gateway.close();
  fs.rmSync(spoolDir, { recursive: true, force: true });
});

const listing = (slug: string) => backend.listings.find((l) => l.slug === slug)!;
const ask = (content: string) => ({ model: "prov/llama-3.1-8b", messages: [{ role: "user" as const, content }] });

describe("serving through the openai client", () => {
  it("chat, not streamed: the upstream's answer, x-request-id, usage.cost, one settled event at the listing's price", async () => {
    const { data, response } = await client().chat.completions.create(ask("What is a token?")).withResponse();
    expect(data.choices[0]!.message.content).toBe(completionWords("user: What is a token?").join(" "));
    const id = response.headers.get("x-request-id")!;
    expect(id).toMatch(/^[0-9a-f-]{36}$/);
    const usage = data.usage as OpenAI.CompletionUsage & { cost: string };
    const expected = usageCostNano({ input: usage.prompt_tokens, output: usage.completion_tokens, cachedInput: 0 }, listing("prov/llama-3.1-8b").currentPrice);
    expect(usage.cost).toBe(usdDecimal(expected));
    await reported(backend, 1);
    expect(backend.events.get(id)).toMatchObject({ costNano: expected, estimated: false, status: "ok", outputTokens: usage.completion_tokens });
  });

  it("chat streamed with include_usage: the same text, a final usage chunk with cost", async () => {
    const stream = await client().chat.completions.create({ ...ask("stream me"), stream: true, stream_options: { include_usage: true } });
    let text = "";
    let usage: (OpenAI.CompletionUsage & { cost?: string }) | undefined;
    for await (const c of stream) {
      text += c.choices[0]?.delta.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe(completionWords("user: stream me").join(" "));
    expect(usage?.completion_tokens).toBe(completionWords("user: stream me").length);
    expect(usage?.cost).toMatch(/^0\.\d+$/);
    await reported(backend, 1);
    expect([...backend.events.values()][0]).toMatchObject({ estimated: false, outputTokens: usage!.completion_tokens });
  });

  it("chat streamed without include_usage: no usage chunk reaches the client, yet it is billed from the upstream's usage", async () => {
    const stream = await client().chat.completions.create({ ...ask("no usage please"), stream: true });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks.some((c) => c.usage)).toBe(false);
    await reported(backend, 1);
    expect([...backend.events.values()][0]).toMatchObject({ estimated: false, outputTokens: completionWords("user: no usage please").length });
  });

  it("a family routes to the cheapest provider by default, and `provider.order` overrides it", async () => {
    const family = { model: "llama-3.1-8b", messages: [{ role: "user" as const, content: "hi" }] };
    const cheap = await client().chat.completions.create(family).withResponse();
    const green = await client()
      .chat.completions.create({ ...family, provider: { order: ["green"] } } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .withResponse();
    await reported(backend, 2);
    expect(backend.events.get(cheap.response.headers.get("x-request-id")!)!.listingId).toBe(listing("prov/llama-3.1-8b").listingId);
    expect(backend.events.get(green.response.headers.get("x-request-id")!)!.listingId).toBe(listing("green/llama-3.1-8b").listingId);
  });

  it("answers name the listing's slug, not the upstream's model id, streamed or not, on every endpoint", async () => {
    const plain = await client().chat.completions.create(ask("which model?"));
    expect(plain.model).toBe("prov/llama-3.1-8b");
    const stream = await client().chat.completions.create({ ...ask("which model?"), stream: true, stream_options: { include_usage: true } });
    const names = new Set<string>();
    for await (const c of stream) names.add(c.model);
    expect([...names]).toEqual(["prov/llama-3.1-8b"]);
    // A family names the listing that served it.
    expect((await client().chat.completions.create({ model: "llama-3.1-8b", messages: [{ role: "user", content: "hi" }] })).model).toBe("prov/llama-3.1-8b");
    expect((await client().completions.create({ model: "prov/qwen2.5-7b", prompt: "Once", max_tokens: 3 })).model).toBe("prov/qwen2.5-7b");
    const streamed = await client().completions.create({ model: "prov/qwen2.5-7b", prompt: "Once", max_tokens: 3, stream: true });
    for await (const c of streamed) expect(c.model).toBe("prov/qwen2.5-7b");
    expect((await client().embeddings.create({ model: "prov/demo-embed-small", input: "alpha" })).model).toBe("prov/demo-embed-small");
    await reported(backend, 6);
  });

  it("text completions, streamed and not", async () => {
    const c = await client().completions.create({ model: "prov/qwen2.5-7b", prompt: "Once upon", max_tokens: 5 });
    // The demo says as many words as fit in max_tokens, counted with qwen's (fallback) tokenizer.
    expect(c.usage!.completion_tokens).toBe(countText("o200k_base", c.choices[0]!.text));
    expect(c.usage!.completion_tokens).toBeLessThanOrEqual(5);
    const s = await client().completions.create({ model: "prov/qwen2.5-7b", prompt: "Once upon", max_tokens: 5, stream: true });
    let text = "";
    for await (const chunk of s) text += chunk.choices[0]?.text ?? "";
    expect(text).toBe(c.choices[0]!.text);
    await reported(backend, 2);
  });

  it("embeddings", async () => {
    const e = await client().embeddings.create({ model: "prov/demo-embed-small", input: ["alpha", "beta"] });
    expect(e.data).toHaveLength(2);
    expect(e.data[0]!.embedding.length).toBeGreaterThan(0);
    await reported(backend, 1);
    expect([...backend.events.values()][0]).toMatchObject({ outputTokens: 0, inputTokens: e.usage.prompt_tokens });
    expect(e.usage.prompt_tokens).toBeGreaterThan(0);
  });

  it("model list: published listings with prices per token and energy", async () => {
    const models = await client().models.list();
    const m = models.data.find((x) => x.id === "prov/llama-3.1-8b") as unknown as {
      pricing: { prompt: string; completion: string };
      context_length: number;
      owned_by: string;
    };
    expect(m).toMatchObject({ owned_by: "prov", context_length: 131_072, pricing: { prompt: "0.00000005", completion: "0.00000008" } });
    expect(models.data).toHaveLength(4);
    expect((await client().models.retrieve("prov/qwen2.5-7b")).id).toBe("prov/qwen2.5-7b");
    expect(await failure(client().models.retrieve("nobody/none"))).toMatchObject({ status: 404, error: { code: "model_not_found" } });
  });

  it("GET /v1/key and /v1/generation describe the key and a settled request", async () => {
    backend.addKey("sk-limited", ORG, { spendLimitNano: 5_000_000_000n, limitPeriod: "daily", currentPeriodSpendNano: 1_000_000_000n });
    const key = await (await fetch(`${gateway.url}/v1/key`, { headers: { authorization: "Bearer sk-limited" } })).json();
    expect(key.data).toMatchObject({ limit: "5", usage: "1", limit_remaining: "4", limit_period: "daily" });
    const { response } = await client().chat.completions.create(ask("generation")).withResponse();
    const id = response.headers.get("x-request-id")!;
    await reported(backend, 1);
    const g = await (await fetch(`${gateway.url}/v1/generation?id=${id}`, { headers: { authorization: `Bearer ${SECRET}` } })).json();
    expect(g.data).toMatchObject({ id, model: "prov/llama-3.1-8b", provider_name: "prov", status: "ok" });
    const other = await fetch(`${gateway.url}/v1/generation?id=${id}`, { headers: { authorization: "Bearer sk-limited" } });
    expect(other.status).toBe(404);
  });

  it("CORS: preflight and exposed headers", async () => {
    const pre = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "OPTIONS",
      headers: { origin: "https://app.example", "access-control-request-method": "POST", "access-control-request-headers": "authorization,content-type" },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    expect(pre.headers.get("access-control-allow-headers")).toBe("authorization,content-type");
    const models = await fetch(`${gateway.url}/v1/models`);
    expect(models.headers.get("access-control-expose-headers")).toContain("x-request-id");
  });

  it("health and Prometheus metrics; client dialects count under their own endpoint label", async () => {
    await client().chat.completions.create(ask("metrics"));
    await client().responses.create({ model: ask("").model, input: "metrics" });
    const messages = await fetch(`${gateway.url}/v1/messages`, {
      method: "POST",
      headers: { "x-api-key": SECRET, "anthropic-version": "2023-06-01", "content-type": "application/json" },
      body: JSON.stringify({ ...ask("metrics"), max_tokens: 5 }),
    });
    expect(messages.status).toBe(200);
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    for (const endpoint of ["chat", "responses", "messages"])
      expect(text).toMatch(new RegExp(`gateway_requests_total\\{endpoint="${endpoint}",status="200"\\} 1`));
    expect(text).toContain("gateway_process_cpu_seconds_total");
  });
});

/** The status, OpenAI envelope and headers of a failed call. */
async function failure(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (err instanceof OpenAI.APIError)
      return { status: err.status, error: err.error as { message: string; type: string; code: string; param: string | null }, headers: err.headers };
    throw err;
  }
  throw new Error("expected the call to fail");
}

describe("errors in OpenAI's envelope", () => {
  it.each([
    ["no key", undefined, 401, "missing_api_key"],
    ["an unknown key", "sk-unknown", 401, "invalid_api_key"],
  ])("401 for %s", async (_label, apiKey, status, code) => {
    const r = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: apiKey ? { authorization: `Bearer ${apiKey}`, "content-type": "application/json" } : { "content-type": "application/json" },
      body: JSON.stringify(ask("x")),
    });
    expect(r.status).toBe(status);
    expect(await r.json()).toEqual({ error: { message: expect.any(String), type: "authentication_error", param: null, code } });
  });

  it("401 for a revoked key within the poll interval", async () => {
    await client().chat.completions.create(ask("before"));
    backend.revoke(SECRET);
    await new Promise((r) => setTimeout(r, 200));
    const f = await failure(client().chat.completions.create(ask("after")));
    expect(f).toMatchObject({ status: 401, error: { code: "key_revoked", type: "authentication_error" } });
  });

  it("403 for a model outside the key's allowlist", async () => {
    backend.addKey("sk-narrow", ORG, { modelAllowlist: ["qwen2.5-7b"] });
    const f = await failure(client({ apiKey: "sk-narrow" }).chat.completions.create(ask("x")));
    expect(f).toMatchObject({ status: 403, error: { code: "model_not_allowed", type: "permission_error", param: "model" } });
  });

  it("404 for an unknown model", async () => {
    const f = await failure(client().chat.completions.create({ model: "nobody/nothing", messages: [{ role: "user", content: "x" }] }));
    expect(f).toMatchObject({ status: 404, error: { code: "model_not_found", type: "not_found_error" } });
  });

  it("400 for a bad request, naming the field", async () => {
    const f = await failure(client().chat.completions.create({ model: "prov/llama-3.1-8b", messages: [] }));
    expect(f).toMatchObject({ status: 400, error: { param: "messages", type: "invalid_request_error" } });
  });

  it("402 without credit; with max_tokens it says how many tokens the credit affords", async () => {
    backend.balances.set(ORG, 0n);
    const f = await failure(client().chat.completions.create(ask("x")));
    expect(f).toMatchObject({ status: 402, error: { code: "insufficient_credit", type: "insufficient_quota" } });
    expect(f.headers.get("x-should-retry")).toBe("false");
  });

  it("402 when max_tokens asks more than the credit affords, naming what it does afford", async () => {
    backend.balances.set(ORG, 100_000n); // $0.0001 at $0.08/1M output ≈ 1 200 tokens
    const f = await failure(client().chat.completions.create({ ...ask("x"), max_tokens: 100_000 }));
    expect(f.status).toBe(402);
    expect(f.error.message).toMatch(/You requested up to 100000 tokens, but can only afford \d+/);
  });

  it("without max_tokens the proxy clamps to what the credit affords and still serves", async () => {
    backend.balances.set(ORG, 1_000n); // affords ~12 output tokens after the prompt
    const r = await client().chat.completions.create(ask("a longer answer please, as long as you like"));
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(12);
    expect(r.choices[0]!.finish_reason).toBe("length");
  });

  it("402 when the key's spend limit is reached", async () => {
    backend.addKey("sk-spent", ORG, { spendLimitNano: 1_000n, limitPeriod: "daily", currentPeriodSpendNano: 1_000n });
    const f = await failure(client({ apiKey: "sk-spent" }).chat.completions.create(ask("x")));
    expect(f).toMatchObject({ status: 402, error: { code: "key_limit_reached", type: "insufficient_quota" } });
  });

  it("429 past the key's requests per minute, with Retry-After and x-ratelimit-* headers", async () => {
    backend.addKey("sk-slow", ORG, { rpmLimit: 2 });
    const c = client({ apiKey: "sk-slow" });
    await c.chat.completions.create(ask("1"));
    await c.chat.completions.create(ask("2"));
    const f = await failure(c.chat.completions.create(ask("3")));
    expect(f).toMatchObject({ status: 429, error: { code: "rate_limit_exceeded", type: "rate_limit_error" } });
    expect(Number(f.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(f.headers.get("x-ratelimit-limit-requests")).toBe("2");
    expect(f.headers.get("x-ratelimit-remaining-requests")).toBe("0");
  });

  it("falls back to the next provider on a 5xx before the first byte", async () => {
    flaky.failures = 1;
    backend.listings.push(fakeListing(`${flaky.url}/v1`, { slug: "aaa-flaky/llama-3.1-8b", family: "llama-3.1-8b", input: 1n, output: 1n }));
    const { response } = await client()
      .chat.completions.create({ model: "llama-3.1-8b", messages: [{ role: "user", content: "x" }] })
      .withResponse();
    await reported(backend, 1);
    expect(backend.events.get(response.headers.get("x-request-id")!)!.listingId).toBe(listing("prov/llama-3.1-8b").listingId);
  });

  it("502 when every provider fails; the client's own retries then bill exactly once", async () => {
    backend.listings = [fakeListing(`${flaky.url}/v1`, { slug: "flaky/llama-3.1-8b" })];
    await gateway.close();
    await start();
    const flakyAsk = (content: string) => ({ model: "flaky/llama-3.1-8b", messages: [{ role: "user" as const, content }] });
    flaky.failures = 1;
    const f = await failure(client().chat.completions.create(flakyAsk("x")));
    expect(f).toMatchObject({ status: 502, error: { code: "upstream_error", type: "api_error" } });
    // Two 502s, then an answer: the official client retries (maxRetries 2) and the request is billed once.
    flaky.failures = 2;
    const before = flaky.calls;
    const r = await client({ maxRetries: 2 }).chat.completions.create(flakyAsk("retry me"));
    expect(flaky.calls - before).toBe(3);
    expect(r.choices[0]!.message.content).toBeTruthy();
    await reported(backend, 1);
    expect([...backend.events.values()].filter((e) => e.costNano > 0n)).toHaveLength(1);
  });

  it("503 while the usage spool is full: nothing is served that could not be recorded", async () => {
    await gateway.close();
    backend.failReports = 1_000;
    gateway = await startGateway({ outbound, backend, spoolDir, ...TEST_GATEWAY_CONFIG, spoolMaxBytes: 1 }, { port: 0 });
    await client().chat.completions.create(ask("fills the spool"));
    const f = await failure(client().chat.completions.create(ask("refused")));
    expect(f).toMatchObject({ status: 503, error: { code: "usage_spool_full" } });
    backend.failReports = 0;
  });

  it("413 for a body past the limit", async () => {
    const r = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ ...ask("x".repeat(17 * 1024 * 1024)) }),
    });
    expect(r.status).toBe(413);
    expect((await r.json()).error.code).toBe("request_too_large");
  });

  it("400 naming what the model serves when it does not serve the endpoint; 503 only when its providers are excluded", async () => {
    const f = await failure(client().embeddings.create({ model: "prov/llama-3.1-8b", input: "x" }));
    expect(f).toMatchObject({ status: 400, error: { code: "model_not_supported", param: "model" } });
    expect(f.error.message).toContain("does not serve embeddings");
    expect(f.error.message).toContain("chat completions");
    const none = await failure(
      client().chat.completions.create({ model: "llama-3.1-8b", messages: [{ role: "user", content: "x" }], provider: { only: ["nobody"] } } as never),
    );
    expect(none).toMatchObject({ status: 503, error: { code: "no_provider_available" } });
  });

  it("after the first streamed byte an upstream failure is an SSE error chunk, and what streamed is billed", async () => {
    backend.listings = [{ ...fakeListing(`${flaky.url}/broken`, { slug: "flaky/broken" }) }];
    await gateway.close();
    await start();
    const r = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: "POST",
      headers: { authorization: `Bearer ${SECRET}`, "content-type": "application/json" },
      body: JSON.stringify({ model: "flaky/broken", messages: [{ role: "user", content: "x" }], stream: true }),
    });
    expect(r.status).toBe(200);
    const text = await r.text();
    expect(text).toContain('"content":" two"');
    const last = text.trim().split("\n\n").at(-1)!;
    expect(JSON.parse(last.slice("data: ".length))).toMatchObject({ error: { code: "upstream_error", type: "api_error" } });
    await reported(backend, 1);
    expect([...backend.events.values()][0]).toMatchObject({ status: "error", outputTokens: 2, estimated: true });
  });
});

describe("billing what was produced", () => {
  it("a client that disconnects mid-stream is billed for the tokens streamed, not the whole answer and not zero", async () => {
    const slow = await startDemoUpstream({ tokensPerSecond: 50 });
    outbound.allowPrivate.add(new URL(slow.url).host);
    backend.listings = [fakeListing(slow.url, { slug: "prov/slow" })];
    await gateway.close();
    await start();
    const prompt = "tell me something long";
    const all = completionWords(`user: ${prompt}`).length;
    const controller = new AbortController();
    const stream = await client().chat.completions.create(
      { model: "prov/slow", messages: [{ role: "user", content: prompt }], stream: true },
      { signal: controller.signal },
    );
    let received = 0;
    try {
      for await (const c of stream) {
        if (c.choices[0]?.delta.content) received++;
        if (received === 3) controller.abort();
      }
    } catch {
      // the abort
    }
    await reported(backend, 1);
    const e = [...backend.events.values()][0]!;
    expect(e.status).toBe("aborted");
    expect(e.outputTokens).toBeGreaterThanOrEqual(3);
    expect(e.outputTokens).toBeLessThan(all);
    await slow.close();
  });

  it("events survive a backend outage: kept, retried with backoff, delivered once", async () => {
    backend.failReports = 3;
    await client().chat.completions.create(ask("during an outage"));
    await new Promise((r) => setTimeout(r, 100));
    expect(backend.events.size).toBe(0);
    await reported(backend, 1);
    expect(backend.calls.report).toBeGreaterThanOrEqual(4);
  });

  it("events the backend never acknowledged are replayed from the spool by the next process", async () => {
    await gateway.close();
    // A process whose reports never get through, stopped without a flush (as if killed).
    const unreachable = Object.create(backend) as FakeBackend;
    unreachable.report = () => Promise.reject(new Error("network down"));
    const doomed = await startGateway({ outbound, backend: unreachable, spoolDir, ...TEST_GATEWAY_CONFIG }, { port: 0 });
    const c = new OpenAI({ baseURL: `${doomed.url}/v1`, apiKey: SECRET, maxRetries: 0 });
    await c.chat.completions.create(ask("one"));
    await c.chat.completions.create(ask("two"));
    doomed.server.closeAllConnections();
    await new Promise<void>((r) => doomed.server.close(() => r()));
    expect(backend.events.size).toBe(0);
    expect(fs.readdirSync(spoolDir).some((f) => f.endsWith(".jsonl"))).toBe(true);
    await start();
    await reported(backend, 2);
    expect([...backend.events.values()].map((e) => e.status)).toEqual(["ok", "ok"]);
  });
});

describe("who may read /metrics", () => {
  const request = (remoteAddress: string, authorization?: string) =>
    ({ headers: authorization ? { authorization } : {}, socket: { remoteAddress } }) as unknown as http.IncomingMessage;
  const TOKEN = "metrics-token-0123456789abcdef";

  it("without a token: this host only", () => {
    expect(metricsRefusal(request("127.0.0.1"), undefined)).toBeNull();
    expect(metricsRefusal(request("::1"), undefined)).toBeNull();
    expect(metricsRefusal(request("10.1.2.3"), undefined)).toMatchObject({ status: 403, code: "metrics_local_only" });
  });

  it("with a token: whoever presents it, from anywhere; nobody else, not even this host", () => {
    expect(metricsRefusal(request("10.1.2.3", `Bearer ${TOKEN}`), TOKEN)).toBeNull();
    expect(metricsRefusal(request("127.0.0.1"), TOKEN)).toMatchObject({ status: 401, code: "invalid_metrics_token" });
    expect(metricsRefusal(request("10.1.2.3", `Bearer ${TOKEN}x`), TOKEN)).toMatchObject({ status: 401 });
  });

  it("a running proxy with a token answers 401 without it and the metrics with it", async () => {
    const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gw-metrics-"));
    const guarded = await startGateway({ outbound, backend, spoolDir, ...TEST_GATEWAY_CONFIG, metricsToken: TOKEN }, { port: 0 });
    try {
      const denied = await fetch(`${guarded.url}/metrics`);
      expect(denied.status).toBe(401);
      expect(((await denied.json()) as { error: { code: string } }).error.code).toBe("invalid_metrics_token");
      const ok = await fetch(`${guarded.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(ok.status).toBe(200);
      expect(await ok.text()).toContain("gateway_spool_bytes");
    } finally {
      await guarded.close();
    }
  });
});

describe("holdLife: a request never outlives its hold", () => {
  it.each([
    ["the default 150 s cap", 150_000, 180_000, 360],
    ["a short cap keeps the default lifetime", 10_000, 40_000, 300],
    ["the longest cap", 1_200_000, 1_230_000, 2_460],
  ])("%s", (_label, maxRequestMs, margin, ttl) => {
    const life = holdLife(maxRequestMs);
    expect(life).toEqual({ expiryMarginMs: margin, ttlSeconds: ttl });
    // A reservation is spent from only with more than the margin left, and the margin outlasts the request.
    expect(life.expiryMarginMs).toBeGreaterThan(maxRequestMs);
    expect(life.ttlSeconds * 1000).toBeGreaterThan(life.expiryMarginMs);
  });
});

describe("what node's HTTP parser refuses", () => {
  const raw = (bytes: string) =>
    new Promise<string>((resolve) => {
      const chunks: Buffer[] = [];
      const socket = net.connect(gateway.port, "127.0.0.1", () => socket.write(bytes));
      socket.on("data", (c) => chunks.push(c));
      socket.on("error", () => resolve(Buffer.concat(chunks).toString("latin1")));
      socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
    });
  const envelope = (answer: string) => JSON.parse(answer.slice(answer.indexOf("\r\n\r\n") + 4)) as { error: { code: string; type: string } };

  it("oversized headers: 431 in an OpenAI envelope", async () => {
    const a = await raw(`GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(20_000)}\r\n\r\n`);
    expect(a).toMatch(/^HTTP\/1\.1 431 /);
    expect(envelope(a).error).toMatchObject({ code: "headers_too_large", type: "invalid_request_error" });
  });

  it("bytes that are not HTTP: 400 in an OpenAI envelope", async () => {
    const a = await raw("\x00\x01 hello\r\n\r\n");
    expect(a).toMatch(/^HTTP\/1\.1 400 /);
    expect(envelope(a).error.code).toBe("malformed_request");
  });

  it("a malformed percent-encoding in the URL: 400 naming it, with the request id", async () => {
    const r = await fetch(`${gateway.url}/v1/models/%E0%A4%A`);
    expect(r.status).toBe(400);
    expect(r.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe("invalid_url");
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
  });
});
