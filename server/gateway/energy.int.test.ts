import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { createTRPCClient, httpLink } from "@trpc/client";
import { eq } from "drizzle-orm";
import OpenAI from "openai";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listingPrices, listings } from "../../db/schema";
import { demoUsers, seedDemo } from "../../db/seed";
import type { AppRouter } from "../api/root";
import { serviceTokenMatcher } from "../auth/service-tokens";
import { catalogEncryptionKey, keyPepper } from "../env";
import { createKey } from "../keys/service";
import { ensureAccount } from "../ledger/service";
import { topUp } from "../ledger/testing";
import { uuidv7 } from "../lib/ids";
import { startTestBackend, type TestBackend } from "../testing/backend";
import { makeOrg, makeUser, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import { DEMO_ENERGY_PROFILES, demoEnergyJoules } from "../upstream-demo/energy-profiles";
import { startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { drained, spawnGateway, type GatewayProcess } from "./spawn";

/**
 * Issue #21's acceptance 2 (the write side), end to end: the proxy as its own process, the real
 * backend over a fresh database, the demo upstream (which reports energy for some listings) and a
 * scripted upstream for what the demo never says (tool calls, cut-off streams, malformed energy).
 * Everything is read back from usage_events as settled.
 */

const PROVIDER_TOKEN = "energy-acceptance-provider-token-0123456789";
let upstream: DemoUpstream;
let slow: DemoUpstream;
let backend: TestBackend;
let g: GatewayProcess;
let secret: string;
let client: OpenAI;
const spool = fs.mkdtempSync(path.join(os.tmpdir(), "gw-energy-"));

/** What the scripted upstream answers next: its extra headers and its body (JSON, or SSE text). */
let script: { headers?: Record<string, string>; json?: unknown; sse?: string } = {};
const scripted = http.createServer((req, res) => {
  req.resume();
  req.on("end", () => {
    const { headers = {}, json, sse } = script;
    if (sse !== undefined) {
      res.writeHead(200, { "content-type": "text/event-stream", ...headers });
      return res.end(sse);
    }
    const body = JSON.stringify(json);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers });
    res.end(body);
  });
});

const PRICE = { inputPer1kNano: 50_000n, outputPer1kNano: 80_000n, cachedInputPer1kNano: 25_000n };

/** A published chat listing of the demo provider served by `url`. */
async function addListing(modelSlug: string, url: string) {
  const db = backend.t.db;
  const [base] = await db.select().from(listings).limit(1);
  const id = uuidv7();
  const org = base!.slug.split("/")[0]!;
  await db.insert(listings).values({
    ...base!,
    id,
    slug: `${org}/${modelSlug}`,
    modelSlug,
    family: modelSlug,
    modalities: ["chat"],
    upstreamBaseUrl: url,
    upstreamModel: "llama-3.1-8b-instruct",
    upstreamCredentialEnc: null,
    upstreamCredentialLast4: null,
    status: "published",
  });
  await db.insert(listingPrices).values({ listingId: id, effectiveFrom: new Date(Date.now() - 60_000), ...PRICE });
  return `${org}/${modelSlug}`;
}

type Stored = { finish_reason: string | null; energy_joules: number | null; tokens: number; cost_nano: bigint; status: string };
/** The request's settled event (a request the buyer left is recorded once the proxy sees the socket close: waited for). */
async function event(id: string): Promise<Stored> {
  for (let i = 0; i < 100; i++) {
    await drained(g);
    const { rows } = await backend.t.pool.query(
      "select finish_reason, energy_joules, input_tokens + cached_input_tokens + output_tokens as tokens, cost_nano, status from usage_events where id = $1",
      [id],
    );
    if (rows.length) return rows[0] as Stored;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`request ${id} was never settled`);
}

beforeAll(async () => {
  upstream = await startDemoUpstream();
  slow = await startDemoUpstream({ tokensPerSecond: 20 });
  await new Promise<void>((r) => scripted.listen(0, "127.0.0.1", () => r()));
  backend = await startTestBackend(serviceTokenMatcher(TEST_SERVICE_TOKEN, `${demoUsers.provider2.slug}:${PROVIDER_TOKEN}`));
  const db = backend.t.db;
  await seedDemo(db, { upstreamUrl: upstream.url, encryptionKey: catalogEncryptionKey() });
  await addListing("scripted-8b", `http://127.0.0.1:${(scripted.address() as AddressInfo).port}/v1`);
  await addListing("slow-energy-8b", slow.url);
  const owner = await makeUser(db, "energy-buyer");
  const org = await makeOrg(db, owner);
  const account = await db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" }));
  const clearing = await db.transaction((tx) => ensureAccount(tx, { orgId: null, kind: "payments_clearing" }));
  await topUp(db, account, clearing, 10_000_000_000n);
  secret = (await createKey(db, { name: "energy", pepper: keyPepper(), orgId: org.id, userId: owner.id })).secret;
  const hosts = new Set((await db.select({ url: listings.upstreamBaseUrl }).from(listings)).map((l) => new URL(l.url).host));
  g = await spawnGateway({
    GATEWAY_BACKEND_URL: backend.url,
    SERVICE_TOKEN: backend.serviceToken,
    GATEWAY_SPOOL_DIR: spool,
    UPSTREAM_ALLOW_PRIVATE: [...hosts].join(","),
  });
  client = new OpenAI({ baseURL: `${g.url}/v1`, apiKey: secret, maxRetries: 0 });
});

afterAll(async () => {
  await g?.stop("SIGKILL");
  await backend?.close();
  await upstream?.close();
  await slow?.close();
  scripted.closeAllConnections();
  scripted.close();
  fs.rmSync(spool, { recursive: true, force: true });
});

const ask = (content: string) => [{ role: "user" as const, content }];

async function chat(model: string, content: string, extra: Record<string, unknown> = {}) {
  const r = await client.chat.completions.create({ model, messages: ask(content), ...extra }).withResponse();
  return r.response.headers.get("x-request-id")!;
}

async function streamed(model: string, content: string, extra: Record<string, unknown> = {}) {
  const r = await client.chat.completions.create({ model, messages: ask(content), stream: true, ...extra }).withResponse();
  for await (const _ of r.data);
  return r.response.headers.get("x-request-id")!;
}

describe("energy reported by the upstream lands on the usage event", () => {
  const profile = (via: "header" | "body") => DEMO_ENERGY_PROFILES.find((p) => p.via === via && p.org === demoUsers.provider2.slug)!;

  it("by header (JSON answer and stream), by body, and by the stream's usage chunk; none when the upstream reports none", async () => {
    const header = profile("header");
    const body = profile("body");
    const cases: [string, string, number | null][] = [
      [await chat(`${header.org}/${header.modelSlug}`, "header, whole"), "header", header.tokensPerJoule],
      [await streamed(`${header.org}/${header.modelSlug}`, "header, streamed"), "header", header.tokensPerJoule],
      [await chat(`${body.org}/${body.modelSlug}`, "body, whole"), "body", body.tokensPerJoule],
      // The buyer did not ask for usage: the proxy asks the upstream for it anyway, and reads the energy there.
      [await streamed(`${body.org}/${body.modelSlug}`, "body, streamed"), "body", body.tokensPerJoule],
      [await chat("demo-provider/llama-3.1-8b", "none"), "none", null],
    ];
    for (const [id, via, tokensPerJoule] of cases) {
      const e = await event(id);
      if (tokensPerJoule === null) expect(e.energy_joules).toBeNull();
      else {
        const joules = demoEnergyJoules({ ...header, tokensPerJoule }, e.tokens);
        // The header carries six decimals; the body the number itself.
        expect(e.energy_joules).toBe(via === "header" ? Number(joules.toFixed(6)) : joules);
        expect(e.energy_joules).toBeGreaterThan(0);
      }
      expect([e.status, e.finish_reason]).toEqual(["ok", "stop"]);
    }
    const gen = (await (await fetch(`${g.url}/v1/generation?id=${cases[0]![0]}`, { headers: { authorization: `Bearer ${secret}` } })).json()) as {
      data: { energy_joules: number; finish_reason: string };
    };
    expect(gen.data).toMatchObject({ energy_joules: (await event(cases[0]![0])).energy_joules, finish_reason: "stop" });
  });
});

describe("finish reasons land on the usage event", () => {
  const toolCall = { id: "call_1", type: "function", function: { name: "lookup", arguments: '{"q":"watts"}' } };
  const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
  const chunk = (choice: unknown) => `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices: [choice] })}\n\n`;

  it("stop and length (demo upstream), tool_calls (JSON and streamed), an aborted stream, and a stream cut off without an end", async () => {
    expect((await event(await chat("demo-provider/llama-3.1-8b", "finish"))).finish_reason).toBe("stop");
    expect((await event(await chat("demo-provider/llama-3.1-8b", "finish", { max_tokens: 2 }))).finish_reason).toBe("length");
    expect((await event(await streamed("demo-provider/llama-3.1-8b", "finish", { max_tokens: 2 }))).finish_reason).toBe("length");

    script = {
      json: {
        id: "x",
        object: "chat.completion",
        model: "m",
        choices: [{ index: 0, message: { role: "assistant", tool_calls: [toolCall] }, finish_reason: "tool_calls" }],
        usage,
      },
    };
    expect((await event(await chat("demo-provider/scripted-8b", "tools"))).finish_reason).toBe("tool_calls");
    script = {
      sse: `${chunk({ index: 0, delta: { tool_calls: [{ index: 0, ...toolCall }] }, finish_reason: null })}${chunk({ index: 0, delta: {}, finish_reason: "tool_calls" })}data: [DONE]\n\n`,
    };
    expect((await event(await streamed("demo-provider/scripted-8b", "tools"))).finish_reason).toBe("tool_calls");

    // Cut off: the upstream ends the stream with neither a finish reason nor [DONE].
    script = { sse: chunk({ index: 0, delta: { content: "half an ans" }, finish_reason: null }) };
    const cut = await event(await streamed("demo-provider/scripted-8b", "cut"));
    expect([cut.status, cut.finish_reason]).toEqual(["ok", "error"]);

    // Aborted: the buyer leaves mid-stream (the slow upstream streams 20 tokens a second).
    const controller = new AbortController();
    const s = await client.chat.completions
      .create({ model: "demo-provider/slow-energy-8b", messages: ask("a long one"), stream: true }, { signal: controller.signal })
      .withResponse();
    const id = s.response.headers.get("x-request-id")!;
    for await (const c of s.data) {
      if (!c.choices[0]?.delta.content) continue;
      controller.abort();
      break;
    }
    const aborted = await event(id);
    expect([aborted.status, aborted.finish_reason]).toEqual(["aborted", "aborted"]);
  });
});

describe("a malformed or absurd energy value is ignored with a logged reason, and billing is exactly as without it", () => {
  const answer = (energy?: unknown) => ({
    id: "x",
    object: "chat.completion",
    model: "m",
    choices: [{ index: 0, message: { role: "assistant", content: "fine" }, finish_reason: "stop" }],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15, ...(energy === undefined ? {} : { energy_joules: energy }) },
  });
  const bad: [string, typeof script, RegExp][] = [
    ["NaN text", { headers: { "x-energy-joules": "NaN" }, json: answer() }, /x-energy-joules header: "NaN" is not a decimal number of joules/],
    ["negative", { headers: { "x-energy-joules": "-5" }, json: answer() }, /x-energy-joules header: -5 J is negative/],
    ["1e30", { headers: { "x-energy-joules": "1e30" }, json: answer() }, /x-energy-joules header: 1e\+30 J is more than 100 J per token \(15 tokens billed\)/],
    ["absurd per token", { headers: { "x-energy-joules": "1501" }, json: answer() }, /x-energy-joules header: 1501 J is more than 100 J per token/],
    ["negative in the body", { json: answer(-1) }, /usage.energy_joules: -1 J is negative/],
    ["text in the body", { json: answer("lots") }, /usage.energy_joules: must be a number of joules \(got string\)/],
    [
      "absurd in a stream's usage chunk",
      {
        sse: `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", model: "m", choices: [{ index: 0, delta: { content: "fine" }, finish_reason: "stop" }] })}\n\ndata: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", model: "m", choices: [], usage: { prompt_tokens: 10, completion_tokens: 5, energy_joules: 1e30 } })}\n\ndata: [DONE]\n\n`,
      },
      /usage.energy_joules: 1e\+30 J is more than 100 J per token/,
    ],
  ];

  it.each(bad)("%s", async (_label, s, logged) => {
    script = { json: answer() };
    const baseline = await event(await chat("demo-provider/scripted-8b", "baseline"));
    script = s;
    const id = s.sse ? await streamed("demo-provider/scripted-8b", "energy") : await chat("demo-provider/scripted-8b", "energy");
    const e = await event(id);
    expect(e).toEqual({ ...baseline, energy_joules: null });
    expect(e.cost_nano).toBe(baseline.cost_nano);
    // One warning for the request (its other lines, e.g. "request billed", say nothing of energy).
    const warnings = g.output.filter((l) => l.includes(id) && l.includes("energy from")).map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(warnings).toEqual([expect.stringMatching(logged)]);
    expect(warnings[0]).toMatch(/energy from demo-provider\/scripted-8b ignored on request/);
  });

  it("a valid value next to them is recorded (the scripted upstream is heard)", async () => {
    script = { headers: { "x-energy-joules": "12.5" }, json: answer(99) };
    expect((await event(await chat("demo-provider/scripted-8b", "ok"))).energy_joules).toBe(12.5);
  });
});

describe("energy.report over the backend's HTTP API", () => {
  it("a provider's resend changes nothing and answers the same; a different one is a conflict naming the field", async () => {
    const trpc = createTRPCClient<AppRouter>({
      links: [httpLink({ url: backend.url, transformer: superjson, headers: { authorization: `Bearer ${PROVIDER_TOKEN}` } })],
    });
    const [listing] = await backend.t.db
      .select({ id: listings.id })
      .from(listings)
      .where(eq(listings.slug, `${demoUsers.provider2.slug}/qwen2.5-7b`));
    const hour = new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - 3_600_000);
    const reading = { listingId: listing!.id, hour, joules: 3_600_000, tokensServed: 17_640_000 };
    const rows = async () => (await backend.t.pool.query("select * from listing_energy_readings")).rows;
    const first = await trpc.energy.report.mutate(reading);
    const stored = await rows();
    expect(await trpc.energy.report.mutate(reading)).toEqual(first);
    expect(await rows()).toEqual(stored);
    await expect(trpc.energy.report.mutate({ ...reading, tokensServed: 1 })).rejects.toThrow(/^tokensServed: .*the first reading stands/);
    expect(await rows()).toEqual(stored);
  });
});
