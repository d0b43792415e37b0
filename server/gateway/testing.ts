import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, afterEach, beforeAll, beforeEach, expect } from "vitest";
import { parseUsd } from "../ledger/money";
import { startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import type { RoutingListing } from "./backend";
import { FakeBackend, fakeListing } from "./fake-backend";
import { startGateway, type Gateway } from "./server";
import type { GatewayConfig } from "./state";

/**
 * What the proxy's tests share to stand a proxy up, so each test file says only what it tests: an in-process
 * proxy over the in-memory backend (startTestProxy), a capturing upstream, and waiting for usage to be
 * reported. The proxy as its own process over the real backend: server/testing/proxy-process.ts.
 */

/** The outbound policy with these local upstreams let through (they listen on loopback). */
export function loopbackOutbound(...urls: string[]): GatewayConfig["outbound"] {
  return { allowPrivate: new Set(urls.map((u) => new URL(u).host)), ownPorts: new Set<number>() };
}

/** The proxy's settings in tests: small reservation chunks, fast reports and key polls (events arrive within tens of ms). */
export const TEST_GATEWAY_CONFIG = {
  spoolMaxBytes: 10_000_000,
  reservationChunkNano: 100_000_000n,
  defaultMaxTokens: 4096,
  reportFlushMs: 10,
  keyPollMs: 50,
} satisfies Partial<GatewayConfig>;

/** A proxy in this process over a FakeBackend, and what stops it. */
export type TestProxy = { backend: FakeBackend; gateway: Gateway; spoolDir: string; close: () => Promise<void> };

/**
 * A proxy over a fresh FakeBackend holding `listings` and one buyer key (`secret`, of organisation `org`) with
 * `balanceNano` of credit ($10 unless given), with TEST_GATEWAY_CONFIG; `config` overrides any of it.
 */
export async function startTestProxy(o: {
  outbound: GatewayConfig["outbound"];
  listings: RoutingListing[];
  secret: string;
  org: string;
  balanceNano?: bigint;
  backend?: FakeBackend;
  config?: Partial<GatewayConfig>;
}): Promise<TestProxy> {
  const spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gw-test-"));
  const backend = o.backend ?? new FakeBackend();
  backend.listings = o.listings;
  backend.addKey(o.secret, o.org);
  backend.balances.set(o.org, o.balanceNano ?? 10_000_000_000n);
  const gateway = await startGateway({ outbound: o.outbound, backend, spoolDir, ...TEST_GATEWAY_CONFIG, ...o.config }, { port: 0 });
  return {
    backend,
    gateway,
    spoolDir,
    close: async () => {
      await gateway.close();
      fs.rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

/** Waits until `n` usage events have reached the backend, and checks there are exactly that many. */
export async function reported(backend: FakeBackend, n: number) {
  for (let i = 0; i < 200 && backend.events.size < n; i++) await new Promise((r) => setTimeout(r, 10));
  expect(backend.events.size).toBe(n);
}

/** A cost as an answer reports it ("0.000012345") in nano-USD. */
export const usdNano = (text: string) => parseUsd(text, "cost");

/** Posts a request's JSON body on to `target` (at the same path less its /v1) and answers with what came back, whole. */
export async function forward(target: string, req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) {
  const r = await fetch(`${target}${req.url!.replace(/^\/v1/, "")}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: new Uint8Array(body),
  });
  res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" });
  res.end(Buffer.from(await r.arrayBuffer()));
}

/** An upstream in front of `target` that keeps the JSON body of each request it forwards. */
export async function startCapture(target: string) {
  const bodies: Record<string, unknown>[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
    await forward(target, req, Buffer.concat(chunks), res);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    bodies,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

type Capture = Awaited<ReturnType<typeof startCapture>>;

/**
 * A test file's proxy over the demo upstream: the demo (and a capture of what it is sent) for the file, and for
 * each test a fresh proxy and FakeBackend (startTestProxy) with `listings(upstreamUrl)`, their upstream the capture
 * (which answers whole, streams included) unless `direct`. Registers the hooks; the returned fields are set once
 * they have run, for the tests to read.
 */
export function demoProxyPerTest(
  o: Omit<Parameters<typeof startTestProxy>[0], "outbound" | "listings"> & { listings: (upstreamUrl: string) => RoutingListing[]; direct?: boolean },
) {
  const t = {} as { upstream: DemoUpstream; capture: Capture; backend: FakeBackend; gateway: Gateway };
  let proxy: TestProxy | undefined;
  beforeAll(async () => {
    t.upstream = await startDemoUpstream();
    t.capture = await startCapture(t.upstream.url);
  });
  afterAll(async () => {
    await t.capture?.close();
    await t.upstream?.close();
  });
  beforeEach(async () => {
    t.capture.bodies.length = 0;
    const url = o.direct ? t.upstream.url : t.capture.url;
    proxy = await startTestProxy({ ...o, outbound: loopbackOutbound(url), listings: o.listings(url) });
    t.backend = proxy.backend;
    t.gateway = proxy.gateway;
  });
  afterEach(async () => {
    await proxy?.close();
  });
  return t;
}

/** The buyer and listing of the Messages API's tests (messages.test.ts, messages-errors.test.ts). */
export const CLAUDE_BUYER = { secret: "sk-test-claude-buyer", org: "org-claude", model: "prov/llama-3.1-8b" } as const;

/**
 * demoProxyPerTest with CLAUDE_BUYER's key and its one listing (the demo's Llama 3.1 8B, behind the capture), and
 * the official Anthropic client for it: the buyer's key as `x-api-key` unless another key (null: none) or a bearer
 * `authToken` is given.
 */
export function claudeProxyPerTest() {
  const { secret, org, model } = CLAUDE_BUYER;
  const t = demoProxyPerTest({ secret, org, listings: (url) => [fakeListing(url, { slug: model, family: "llama-3.1-8b" })] });
  const claude = (opts: { apiKey?: string | null; authToken?: string } = {}) =>
    new Anthropic({ baseURL: t.gateway.url, apiKey: opts.apiKey === undefined ? secret : opts.apiKey, authToken: opts.authToken ?? null, maxRetries: 0 });
  return { t, claude };
}
