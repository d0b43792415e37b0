import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll } from "vitest";
import { listings } from "../../db/schema";
import { seedDemo } from "../../db/seed";
import { catalogEncryptionKey, keyPepper } from "../env";
import type { CreateKeyInput } from "../keys/inputs";
import { createKey } from "../keys/service";
import { ensureAccount, type LedgerAccount } from "../ledger/service";
import { topUp } from "../ledger/testing";
import { startTestBackend, type TestBackend } from "./backend";
import { makeOrg, makeUser } from "./fixtures";
import { startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import type { FakeBackend } from "../gateway/fake-backend";
import { serveFakeBackend } from "../gateway/fake-backend-server";
import { spawnGateway, type GatewayProcess } from "../gateway/spawn";

/**
 * What the proxy's process tests share (the in-process ones: server/gateway/testing.ts): the proxy as its own process with its
 * own spool, over the real backend seeded with the demo marketplace or over a FakeBackend served on HTTP, and
 * buyers with paid credit and a key.
 */

/** A proxy process and its spool directory; `stop` ends it (SIGTERM unless told) and removes the spool. */
export type ProxyProcess = { proxy: GatewayProcess; spoolDir: string; stop: (signal?: NodeJS.Signals) => Promise<void> };

/**
 * spawnGateway over the backend at `backendUrl`, with a fresh spool directory (or `spoolDir`) and the hosts of
 * `upstreams` (local, on loopback) let through the outbound policy; `env` adds or overrides variables.
 */
export async function startProxyProcess(o: {
  backendUrl: string;
  serviceToken: string;
  upstreams: string[];
  env?: Record<string, string>;
  spoolDir?: string;
}): Promise<ProxyProcess> {
  const spoolDir = o.spoolDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "gw-proc-"));
  const proxy = await spawnGateway({
    GATEWAY_BACKEND_URL: o.backendUrl,
    SERVICE_TOKEN: o.serviceToken,
    GATEWAY_SPOOL_DIR: spoolDir,
    UPSTREAM_ALLOW_PRIVATE: [...new Set(o.upstreams.map((u) => new URL(u).host))].join(","),
    ...o.env,
  });
  return {
    proxy,
    spoolDir,
    stop: async (signal) => {
      await proxy.stop(signal);
      fs.rmSync(spoolDir, { recursive: true, force: true });
    },
  };
}

/** A proxy process over `fake`, served on HTTP with `serviceToken`; `stop` ends both. */
export async function startProxyOverFake(fake: FakeBackend, serviceToken: string, upstreams: string[], env?: Record<string, string>): Promise<ProxyProcess> {
  const served = await serveFakeBackend(fake, serviceToken);
  const p = await startProxyProcess({ backendUrl: served.url, serviceToken, upstreams, env });
  return {
    ...p,
    stop: async (signal) => {
      await p.stop(signal);
      await served.close();
    },
  };
}

/** The demo marketplace: the demo upstream, the real backend over a fresh database, the demo seed on them. */
export type DemoMarket = { upstream: DemoUpstream; backend: TestBackend; upstreamUrls: () => Promise<string[]>; close: () => Promise<void> };

export async function startDemoMarket(matchServiceToken?: Parameters<typeof startTestBackend>[0]): Promise<DemoMarket> {
  const upstream = await startDemoUpstream();
  const backend = await startTestBackend(matchServiceToken);
  await seedDemo(backend.t.db, { upstreamUrl: upstream.url, encryptionKey: catalogEncryptionKey() });
  return {
    upstream,
    backend,
    // Every listing's upstream, the test's own included: all of them listen on loopback.
    upstreamUrls: async () => (await backend.t.db.select({ url: listings.upstreamBaseUrl }).from(listings)).map((l) => l.url),
    close: async () => {
      await backend.close();
      await upstream.close();
    },
  };
}

export type Buyer = { orgId: string; ownerId: string; account: LedgerAccount; secret: string; keyId: string };

/** A fresh organisation with `creditNano` of paid credit (from the platform's clearing account) and one API key. */
export async function fundedBuyer(backend: TestBackend, creditNano: bigint, limits: CreateKeyInput = { name: "buyer" }, name = "buyer"): Promise<Buyer> {
  const db = backend.t.db;
  const owner = await makeUser(db, name);
  const org = await makeOrg(db, owner);
  const account = await db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" }));
  if (creditNano > 0n) {
    const clearing = await db.transaction((tx) => ensureAccount(tx, { orgId: null, kind: "payments_clearing" }));
    await topUp(db, account, clearing, creditNano);
  }
  const key = await createKey(db, { ...limits, pepper: keyPepper(), orgId: org.id, userId: owner.id });
  return { orgId: org.id, ownerId: owner.id, account, secret: key.secret, keyId: key.id };
}

/**
 * A test file's demo marketplace and proxy process: startDemoMarket and a proxy over it (the backend's service
 * token unless `serviceToken`, `env` added) for the file, stopped after it (`stopSignal`, SIGTERM unless told).
 * Registers the hooks; the returned fields are set once they have run, for the tests to read.
 */
export function demoMarketPerFile(
  o: { matchServiceToken?: Parameters<typeof startTestBackend>[0]; serviceToken?: string; env?: Record<string, string>; stopSignal?: NodeJS.Signals } = {},
) {
  const m = {} as { upstream: DemoUpstream; backend: TestBackend; proxy: GatewayProcess };
  let market: DemoMarket | undefined;
  let p: ProxyProcess | undefined;
  beforeAll(async () => {
    market = await startDemoMarket(o.matchServiceToken);
    m.upstream = market.upstream;
    m.backend = market.backend;
    p = await startProxyProcess({
      backendUrl: m.backend.url,
      serviceToken: o.serviceToken ?? m.backend.serviceToken,
      upstreams: await market.upstreamUrls(),
      env: o.env,
    });
    m.proxy = p.proxy;
  });
  afterAll(async () => {
    await p?.stop(o.stopSignal);
    await market?.close();
  });
  return m;
}
