import net from "node:net";
import fc from "fast-check";
import OpenAI from "openai";
import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { FakeBackend, fakeListing } from "./fake-backend";
import type { GatewayProcess } from "./spawn";
import { startProxyOverFake } from "../testing/proxy-process";

/**
 * Issue 14, acceptance 1: generated requests against the proxy running as its
 * own process. Random methods, paths and percent-encodings, headers, bodies
 * (malformed JSON, wrong types, huge and negative numbers, deep nesting,
 * invalid UTF-8, empty) and raw bytes that are not HTTP at all. Every one gets
 * an answer, every non-2xx answer is an OpenAI error envelope, and the same
 * process serves a normal request afterwards.
 */

const SECRET = "sk-fuzz-buyer";
const SERVICE_TOKEN = "fuzz-test-service-token-0123456789abcdef";
const REQUESTS = 10_000;
const RAW = 300;
const CONCURRENCY = 32;

let upstream: DemoUpstream;
let proxy: GatewayProcess;
let stop: () => Promise<void>;

beforeAll(async () => {
  upstream = await startDemoUpstream();
  const fake = new FakeBackend();
  fake.listings = [
    fakeListing(upstream.url, { slug: "prov/llama-3.1-8b", family: "llama-3.1-8b" }),
    fakeListing(upstream.url, { slug: "prov/demo-embed-small", upstreamModel: "demo-embed-small", modalities: ["embeddings"] }),
  ];
  fake.addKey(SECRET, "org-fuzz");
  fake.balances.set("org-fuzz", 1_000_000_000_000_000n);
  ({ proxy, stop } = await startProxyOverFake(fake, SERVICE_TOKEN, [upstream.url]));
});

afterAll(async () => {
  await stop?.();
  await upstream?.close();
});

const hex = fc.constantFrom(..."0123456789abcdefABCDEFgz%".split(""));
/** Path pieces: known routes, plain characters, and percent-encodings whole, cut short or invalid (`%E0%A4%A`). */
const pathPart = fc.oneof(
  fc.constantFrom(
    "/v1/chat/completions",
    "/v1/completions",
    "/v1/embeddings",
    "/v1/messages",
    "/v1/messages/count_tokens",
    "/v1/models",
    "/v1/models/",
    "/v1/key",
    "/v1/generation?id=",
    "/healthz",
    "/metrics",
    "/",
  ),
  fc.string({ unit: fc.constantFrom(..."abcxyz019-_.~/:@!$&'()*+,;=?#[]".split("")), maxLength: 12 }),
  fc.tuple(hex, hex).map(([a, b]) => `%${a}${b}`),
  fc.constantFrom("%", "%E0%A4%A", "%C0%AF", "%FF", "%00", "%2e%2e/", "%u0041"),
);
const urlPath = fc.array(pathPart, { minLength: 1, maxLength: 6 }).map((parts) => {
  const p = parts.join("");
  return p.startsWith("/") ? p : `/${p}`;
});

const number = fc.oneof(fc.integer(), fc.constantFrom(0, -1, 1.5, 1e20, -1e20, Number.MAX_SAFE_INTEGER + 2, 2 ** 53, 1e308), fc.double({ noNaN: true }));
const anyJson = fc.oneof(fc.jsonValue({ maxDepth: 3 }), number);
const message = fc.oneof(
  fc.record({ role: fc.constantFrom("user", "system", "assistant", "tool"), content: fc.oneof(fc.string({ maxLength: 40 }), anyJson) }),
  fc.record({
    role: fc.constant("user"),
    content: fc.array(
      fc.oneof(
        fc.record({ type: fc.constant("text"), text: fc.string({ maxLength: 20 }) }),
        fc.record({ type: fc.constant("image_url"), image_url: fc.record({ url: fc.webUrl() }) }),
        anyJson,
      ),
      { maxLength: 4 },
    ),
  }),
  anyJson,
);
/** A request body shaped like the API's, each field right, wrong-typed or absurd. */
const apiBody = fc
  .record(
    {
      model: fc.oneof(fc.constantFrom("prov/llama-3.1-8b", "llama-3.1-8b", "prov/demo-embed-small", "nope/none", ""), anyJson),
      messages: fc.oneof(fc.array(message, { maxLength: 4 }), anyJson),
      prompt: fc.oneof(fc.string({ maxLength: 40 }), fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }), anyJson),
      input: fc.oneof(fc.string({ maxLength: 40 }), anyJson),
      max_tokens: fc.oneof(fc.integer({ min: 1, max: 64 }), number, anyJson),
      n: fc.oneof(fc.integer({ min: 1, max: 4 }), number, anyJson),
      best_of: fc.oneof(fc.integer({ min: 1, max: 4 }), number),
      stream: fc.oneof(fc.boolean(), anyJson),
      tools: fc.oneof(fc.array(anyJson, { maxLength: 3 }), anyJson),
      response_format: anyJson,
      provider: fc.oneof(fc.record({ only: fc.array(fc.string({ maxLength: 8 }), { maxLength: 2 }), sort: fc.string({ maxLength: 8 }) }), anyJson),
    },
    { requiredKeys: [] },
  )
  .map((b) => JSON.stringify(b));
const deep = fc
  .integer({ min: 1_000, max: 200_000 })
  .map((d) => `{"model":"prov/llama-3.1-8b","messages":[{"role":"user","content":"x"}],"tools":${"[".repeat(d)}${"]".repeat(d)}}`);
const body = fc.oneof(
  { weight: 6, arbitrary: apiBody.map((s) => Buffer.from(s)) },
  { weight: 1, arbitrary: anyJson.map((v) => Buffer.from(JSON.stringify(v) ?? "")) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }).map((s) => Buffer.from(s.slice(0, Math.max(0, s.length - 3)) + "{")) },
  { weight: 1, arbitrary: fc.constant(Buffer.alloc(0)) },
  { weight: 1, arbitrary: deep.map((s) => Buffer.from(s)) },
);
const request = fc.record({
  method: fc.constantFrom("GET", "POST", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
  path: urlPath,
  auth: fc.oneof(
    fc.constant(`Bearer ${SECRET}`),
    fc.constant(`Bearer ${SECRET}`),
    fc.constant(null),
    fc.string({ unit: fc.constantFrom(..."Bearer sk-xyz0123 \t".split("")), maxLength: 30 }),
  ),
  contentType: fc.constantFrom("application/json", "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", ""),
  body,
});

type Problem = { request: string; status: number; body: string };

/** OpenAI's envelope, or Anthropic's on /v1/messages: both carry `error.message` and `error.type`. */
function envelopeProblem(status: number, text: string): string | null {
  try {
    const e = (JSON.parse(text) as { error?: { message?: unknown; type?: unknown } }).error;
    if (typeof e?.message === "string" && typeof e.type === "string") return null;
  } catch {
    // Falls through: not JSON.
  }
  return `HTTP ${status} without an OpenAI error envelope`;
}

describe("fuzzing the proxy process", () => {
  it(`answers ${REQUESTS} generated requests, every failure in an OpenAI envelope, and keeps serving`, { timeout: 240_000 }, async () => {
    const pid = proxy.child.pid;
    const pool = new Pool(proxy.url, { connections: CONCURRENCY, headersTimeout: 30_000, bodyTimeout: 30_000 });
    const samples = fc.sample(request, { numRuns: REQUESTS, seed: 14 });
    const problems: Problem[] = [];
    let answered = 0;
    let next = 0;
    const worker = async () => {
      while (next < samples.length) {
        const s = samples[next++]!;
        const headers: Record<string, string> = {};
        if (s.auth !== null) headers.authorization = s.auth;
        if (s.contentType) headers["content-type"] = s.contentType;
        const withBody = s.method !== "GET" && s.method !== "HEAD";
        try {
          const r = await pool.request({ path: s.path, method: s.method as "POST", headers, body: withBody ? s.body : undefined });
          const text = await r.body.text();
          answered++;
          if (r.statusCode >= 300 && s.method !== "HEAD") {
            const p = envelopeProblem(r.statusCode, text);
            if (p)
              problems.push({ request: `${s.method} ${s.path} ${s.body.subarray(0, 120).toString("utf8")}`, status: r.statusCode, body: text.slice(0, 200) });
          }
        } catch (err) {
          problems.push({ request: `${s.method} ${s.path} ${s.body.subarray(0, 120).toString("utf8")}`, status: 0, body: String(err) });
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    await pool.close();
    expect(problems.slice(0, 5)).toEqual([]);
    expect(answered).toBe(REQUESTS);
    expect(proxy.child.exitCode).toBeNull();

    // Bytes that are not HTTP at all: node's parser refuses them, the proxy still answers in an envelope.
    const raws = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), { numRuns: RAW, seed: 41 });
    const rawAnswers = await Promise.all(
      raws.map(
        (bytes) =>
          new Promise<string>((resolve) => {
            const chunks: Buffer[] = [];
            const socket = net.connect(proxy.port, "127.0.0.1", () =>
              socket.end(Buffer.concat([Buffer.from("\x01"), Buffer.from(bytes), Buffer.from("\r\n\r\n")])),
            );
            socket.on("data", (c) => chunks.push(c));
            socket.on("error", () => resolve(`error: ${Buffer.concat(chunks).toString("latin1")}`));
            socket.on("close", () => resolve(Buffer.concat(chunks).toString("latin1")));
          }),
      ),
    );
    for (const a of rawAnswers) {
      expect(a).toMatch(/^HTTP\/1\.1 4\d\d /);
      expect(envelopeProblem(400, a.slice(a.indexOf("\r\n\r\n") + 4))).toBeNull();
    }

    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: SECRET, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "prov/llama-3.1-8b", messages: [{ role: "user", content: "still there?" }], max_tokens: 3 });
    expect(r.choices[0]!.message.content).toBeTruthy();
    expect(proxy.child.pid).toBe(pid);
    expect(proxy.child.exitCode).toBeNull();
  });
});
