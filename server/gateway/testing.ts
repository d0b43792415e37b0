import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect } from "vitest";
import { parseUsd } from "../ledger/money";
import type { RoutingListing } from "./backend";
import { FakeBackend } from "./fake-backend";
import { startGateway, type Gateway } from "./server";
import type { GatewayConfig } from "./state";

/**
 * What the proxy's tests share to stand a proxy up, so each test file says only what it tests: an in-process
 * proxy over the in-memory backend (startTestProxy), a capturing upstream, and waiting for usage to be
 * reported. The proxy as its own process over the real backend: testing-process.ts.
 */

/** The outbound policy with these local upstreams let through (they listen on loopback). */
export function loopbackOutbound(...urls: string[]): GatewayConfig["outbound"] {
  return { allowPrivate: new Set(urls.map((u) => new URL(u).host)), ownPorts: new Set<number>() };
}

/** A proxy in this process over a FakeBackend, and what stops it. */
export type TestProxy = { backend: FakeBackend; gateway: Gateway; spoolDir: string; close: () => Promise<void> };

/**
 * A proxy over a fresh FakeBackend holding `listings` and one buyer key (`secret`, of organisation `org`) with
 * `balanceNano` of credit ($10 unless given). Small reservation chunks and fast reports and key polls: a test sees
 * its usage events within tens of milliseconds. `config` overrides any of it.
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
  const gateway = await startGateway(
    {
      outbound: o.outbound,
      backend,
      spoolDir,
      spoolMaxBytes: 10_000_000,
      reservationChunkNano: 100_000_000n,
      defaultMaxTokens: 4096,
      reportFlushMs: 10,
      keyPollMs: 50,
      ...o.config,
    },
    { port: 0 },
  );
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

/** An upstream in front of `target` that keeps the JSON body of each request it forwards. */
export async function startCapture(target: string) {
  const bodies: Record<string, unknown>[] = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
    const r = await fetch(`${target}${req.url!.replace(/^\/v1/, "")}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: Buffer.concat(chunks),
    });
    res.writeHead(r.status, { "content-type": r.headers.get("content-type") ?? "application/json" });
    res.end(Buffer.from(await r.arrayBuffer()));
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
