import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { organizations, reservations } from "../../db/schema";
import { seedDemo } from "../../db/seed";
import { serviceTokenMatcher } from "../auth/service-tokens";
import { catalogEncryptionKey, keyPepper } from "../env";
import { createKey } from "../keys/service";
import { ensureAccount, getBalance, type LedgerAccount } from "../ledger/service";
import { topUp } from "../ledger/testing";
import { startTestBackend, type TestBackend } from "../testing/backend";
import { makeOrg, makeUser, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import { startDemoUpstream, type DemoUpstream } from "../upstream-demo/server";
import { drained, spawnGateway, type GatewayProcess } from "./spawn";

/**
 * Our proxy run by a provider with its provider service token (GATEWAY_TOKEN_KIND=provider),
 * against the real backend: the backend lets that token hold credit only for the provider's
 * own listings, named in each reservation, so the proxy holds per key and listing.
 */
const PROVIDER_TOKEN = "demo-provider-service-token-0123456789abcdef";

let upstream: DemoUpstream;
let backend: TestBackend;
let proxy: GatewayProcess;
let spoolDir: string;
let account: LedgerAccount;
let secret: string;

beforeAll(async () => {
  upstream = await startDemoUpstream();
  backend = await startTestBackend(serviceTokenMatcher(TEST_SERVICE_TOKEN, `demo-provider:${PROVIDER_TOKEN}`));
  const db = backend.t.db;
  await seedDemo(db, { upstreamUrl: upstream.url, encryptionKey: catalogEncryptionKey() });
  const clearing = await db.transaction((tx) => ensureAccount(tx, { orgId: null, kind: "payments_clearing" }));
  const owner = await makeUser(db, "buyer");
  const org = await makeOrg(db, owner);
  account = await db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" }));
  await topUp(db, account, clearing, 10_000_000_000n);
  secret = (await createKey(db, { name: "provider proxy", pepper: keyPepper(), orgId: org.id, userId: owner.id })).secret;
  spoolDir = fs.mkdtempSync(path.join(os.tmpdir(), "gw-provider-"));
  proxy = await spawnGateway({
    GATEWAY_BACKEND_URL: backend.url,
    SERVICE_TOKEN: PROVIDER_TOKEN,
    GATEWAY_TOKEN_KIND: "provider",
    GATEWAY_SPOOL_DIR: spoolDir,
    UPSTREAM_ALLOW_PRIVATE: new URL(upstream.url).host,
  });
});

afterAll(async () => {
  await proxy?.stop("SIGKILL");
  await backend?.close();
  await upstream?.close();
  if (spoolDir) fs.rmSync(spoolDir, { recursive: true, force: true });
});

const usd = (text: string) => {
  const [whole, frac = ""] = text.split(".");
  return BigInt(whole!) * 1_000_000_000n + BigInt(frac.padEnd(9, "0"));
};

describe("a proxy run by a provider with its provider token", () => {
  it("serves and bills a request to the provider's listing, from credit held under the provider's token", async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: secret, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "demo-provider/llama-3.1-8b", messages: [{ role: "user", content: "Hello" }] });
    expect(r.choices[0]!.message.content).toBeTruthy();
    const cost = usd((r.usage as unknown as { cost: string }).cost);
    expect(cost).toBeGreaterThan(0n);
    await drained(proxy);
    expect((await getBalance(backend.t.db, { accountId: account.id })).debitsPosted).toBe(cost);

    const [provider] = await backend.t.db.select().from(organizations).where(eq(organizations.slug, "demo-provider"));
    const held = await backend.t.db.select().from(reservations);
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((h) => h.serviceOrgId === provider!.id)).toBe(true);
  });

  it("routes a family two providers sell only to its own listing", async () => {
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: secret, maxRetries: 0 });
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: "llama-3.1-8b", messages: [{ role: "user", content: `family ${i}` }] });
    await drained(proxy);
    const { rows } = await backend.t.pool.query<{ slug: string }>(
      "select distinct o.slug from usage_events e join listings l on l.id = e.listing_id join organizations o on o.id = l.org_id",
    );
    expect(rows.map((r) => r.slug)).toEqual(["demo-provider"]);
  });

  it("refuses another provider's listing with a clear error and charges nothing", async () => {
    const before = (await getBalance(backend.t.db, { accountId: account.id })).debitsPosted;
    const client = new OpenAI({ baseURL: `${proxy.url}/v1`, apiKey: secret, maxRetries: 0 });
    const err = await client.chat.completions
      .create({ model: "second-provider/qwen2.5-7b", messages: [{ role: "user", content: "Hello" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 404, error: { code: "model_not_found", param: "model" } });
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/second-provider\/qwen2\.5-7b/);
    await drained(proxy);
    expect((await getBalance(backend.t.db, { accountId: account.id })).debitsPosted).toBe(before);
  });
});
