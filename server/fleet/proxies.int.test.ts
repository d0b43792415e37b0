import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import OpenAI from "openai";
import { afterAll, beforeAll, expect, it } from "vitest";
import { listings } from "../../db/schema";
import { seedDemo } from "../../db/seed";
import { catalogEncryptionKey, keyPepper } from "../env";
import { drained, type GatewayProcess, spawnGateway } from "../gateway/spawn";
import { createKey } from "../keys/service";
import { checkInvariants } from "../ledger/invariants";
import { ensureAccount, getBalance } from "../ledger/service";
import { topUp } from "../ledger/testing";
import { type SettlerProcess, spawnSettler, until } from "../settler/testing";
import { startTestBackend, type TestBackend } from "../testing/backend";
import { makeOrg, makeUser } from "../testing/fixtures";
import { type DemoUpstream, startDemoUpstream } from "../upstream-demo/server";
import { untilSettled } from "../usage/crash-world";
import { type NatsServer, startNatsServer } from "./nats-server";

// Issue 20 with real proxies (server/gateway/main.ts processes), the official openai client, a real
// `nats-server -js`, a settler process and real PostgreSQL: two proxies publish usage to the bus
// and it settles exactly once; with NATS down the proxies keep serving within their reservations
// and spool; when it returns the spools drain and everything settles once, at the cost each
// answer reported.

let upstream: DemoUpstream;
let backend: TestBackend;
let nats: NatsServer;
let settler: SettlerProcess;
const proxies: GatewayProcess[] = [];
const dirs: string[] = [];

const usd = (text: string) => {
  const [whole, frac = ""] = text.split(".");
  return BigInt(whole!) * 1_000_000_000n + BigInt(frac.padEnd(9, "0"));
};

async function health(g: GatewayProcess) {
  return (await (await fetch(`${g.url}/healthz`)).json()) as { unreported: number };
}

beforeAll(async () => {
  upstream = await startDemoUpstream();
  backend = await startTestBackend();
  await seedDemo(backend.t.db, { upstreamUrl: upstream.url, encryptionKey: catalogEncryptionKey() });
  nats = await startNatsServer();
  const bus = { NATS_URL: nats.url, USAGE_BUS_SHARDS: "2" };
  settler = spawnSettler({ ...bus, DATABASE_URL: backend.t.url, SETTLEMENT_WINDOW_MS: "100" });
  const hosts = new Set((await backend.t.db.select({ url: listings.upstreamBaseUrl }).from(listings)).map((l) => new URL(l.url).host));
  for (let i = 0; i < 2; i++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tm-fleet-spool-"));
    dirs.push(dir);
    proxies.push(
      await spawnGateway({
        ...bus,
        GATEWAY_BACKEND_URL: backend.url,
        SERVICE_TOKEN: backend.serviceToken,
        GATEWAY_SPOOL_DIR: dir,
        UPSTREAM_ALLOW_PRIVATE: [...hosts].join(","),
        GATEWAY_REPORT_INTERVAL_MS: "20",
      }),
    );
  }
  await settler.ready;
});

afterAll(async () => {
  for (const g of proxies) await g.stop("SIGKILL");
  await settler?.stop();
  await nats?.dispose();
  await backend?.close();
  await upstream?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

it("two proxies on the bus: served through NATS going down and coming back, every answer billed exactly once at the cost it reported", async () => {
  const db = backend.t.db;
  const owner = await makeUser(db, "buyer");
  const org = await makeOrg(db, owner);
  const clearing = await db.transaction((tx) => ensureAccount(tx, { orgId: null, kind: "payments_clearing" }));
  const account = await db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" }));
  await topUp(db, account, clearing, 10_000_000_000n);
  const key = await createKey(db, { name: "fleet", pepper: keyPepper(), orgId: org.id, userId: owner.id });
  const clients = proxies.map((g) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: key.secret, maxRetries: 0 }));
  const answered = new Map<string, bigint>();

  const burst = async (n: number) => {
    await Promise.all(
      clients.flatMap((client) =>
        Array.from({ length: n }, async (_, i) => {
          const r = await client.chat.completions
            .create({ model: "demo-provider/llama-3.1-8b", messages: [{ role: "user", content: `Hello ${i}` }], max_tokens: 16 })
            .withResponse();
          answered.set(r.response.headers.get("x-request-id")!, usd((r.data.usage as unknown as { cost: string }).cost));
        }),
      ),
    );
  };

  await burst(10);
  for (const g of proxies) await drained(g);

  // NATS goes away: the proxies keep answering from their reservations, and their usage waits in the spool.
  await nats.stop("SIGKILL");
  await burst(10);
  for (const g of proxies) expect((await health(g)).unreported).toBeGreaterThan(0);
  // Each proxy's reporter tries on its own timer and the NATS client takes a moment to give up: wait for both to say so.
  await until("both proxies logged a failed report", async () => proxies.every((g) => g.output.some((l) => l.includes("usage report failed"))));

  await nats.start();
  for (const g of proxies) await drained(g);
  await until("every answer stored", async () => {
    const { rows } = await backend.t.pool.query<{ n: number }>("select count(*)::int as n from usage_events where key_id = $1", [key.id]);
    return rows[0]!.n >= answered.size;
  });
  await untilSettled(backend.t.pool);

  expect(answered.size).toBe(40);
  const { rows } = await backend.t.pool.query<{ id: string; cost_nano: bigint }>("select id, cost_nano from usage_events where key_id = $1", [key.id]);
  expect(new Map(rows.map((r) => [r.id, BigInt(r.cost_nano)]))).toEqual(answered);
  const total = [...answered.values()].reduce((s, c) => s + c, 0n);
  expect((await getBalance(db, { accountId: account.id })).debitsPosted).toBe(total);
  expect(await checkInvariants(db)).toEqual([]);
}, 180_000);
