import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo } from "../../db/seed";
import { catalogEncryptionKey, keyPepper } from "../../server/env";
import { freePort } from "../../server/gateway/spawn";
import { createKey } from "../../server/keys/service";
import { ensureAccount } from "../../server/ledger/service";
import { topUp } from "../../server/ledger/testing";
import { startTestBackend, type TestBackend } from "../../server/testing/backend";
import { makeOrg, makeUser } from "../../server/testing/fixtures";
import { startDemoUpstream, type DemoUpstream } from "../../server/upstream-demo/server";
import { fleetProcesses, startBrokers, type Brokers } from "./fleet";
import { Supervised } from "./supervise";

/**
 * The topology `npm run start:fleet` starts, from its own building blocks (scripts/lib/fleet.ts):
 * real NATS and Redis, two settler processes and two proxies, against the real backend (here the
 * test's service API instead of the built web app). Both proxies answer, usage through either is
 * settled by the settlers from the bus, and stopping goes in reverse order.
 */

let dataDir: string;
let upstream: DemoUpstream;
let backend: TestBackend;
let brokers: Brokers;
let services: Supervised[] = [];
let gatewayPorts: number[];
const exits: string[] = [];

async function answers(url: string) {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} never answered`);
}

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tm-fleet-"));
  [upstream, backend] = await Promise.all([startDemoUpstream(), startTestBackend()]);
  await seedDemo(backend.t.db, { upstreamUrl: upstream.url, encryptionKey: catalogEncryptionKey() });
  brokers = await startBrokers({ dataDir });
  gatewayPorts = [await freePort(), await freePort()];
  const env = {
    ...process.env,
    DATA_DIR: dataDir,
    DATABASE_URL: backend.t.url,
    SERVICE_TOKEN: backend.serviceToken,
    NATS_URL: brokers.natsUrl,
    REDIS_URL: brokers.redisUrl,
    UPSTREAM_ALLOW_PRIVATE: new URL(upstream.url).host,
    SETTLEMENT_WINDOW_MS: "100",
  };
  for (const p of fleetProcesses({ env, backendUrl: backend.url, dataDir, gatewayPorts, settlers: 2 })) {
    const s = new Supervised(
      p.name,
      () => {
        const child = p.start();
        child.once("exit", () => exits.push(p.name));
        return child;
      },
      (why) => {
        throw new Error(why);
      },
      () => {},
    );
    services.push(s);
  }
  await Promise.all(gatewayPorts.map((port) => answers(`http://127.0.0.1:${port}/healthz`)));
});

afterAll(async () => {
  for (const s of [...services].reverse()) await s.stop();
  await brokers?.stop();
  await backend?.close();
  await upstream?.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe("the local fleet's topology", () => {
  it("two proxies answer, the settlers settle usage from both through the bus, and it stops in reverse order", async () => {
    const db = backend.t.db;
    const owner = await makeUser(db, "fleet-buyer");
    const org = await makeOrg(db, owner);
    const clearing = await db.transaction((tx) => ensureAccount(tx, { orgId: null, kind: "payments_clearing" }));
    await topUp(db, await db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" })), clearing, 10_000_000_000n);
    const key = await createKey(db, { name: "fleet", pepper: keyPepper(), orgId: org.id, userId: owner.id });

    for (const port of gatewayPorts) {
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: key.secret, maxRetries: 0 });
      const models = await client.models.list();
      expect(models.data.map((m) => m.id)).toContain("demo-provider/llama-3.1-8b");
      const done = await client.chat.completions.create({ model: "demo-provider/llama-3.1-8b", messages: [{ role: "user", content: "hi" }], max_tokens: 5 });
      expect(done.choices[0]?.message.content).toBeTruthy();
    }
    let settled = 0;
    for (let i = 0; i < 300 && settled < 2; i++) {
      const { rows } = await backend.t.pool.query<{ n: number }>("select count(*)::int as n from usage_events where key_id = $1", [key.id]);
      settled = rows[0]!.n;
      if (settled < 2) await new Promise((r) => setTimeout(r, 100));
    }
    expect(settled).toBe(2);

    for (const s of [...services].reverse()) await s.stop();
    services = [];
    expect(exits).toEqual(["gateway-2", "gateway-1", "settler-2", "settler-1"]);
  });
});
