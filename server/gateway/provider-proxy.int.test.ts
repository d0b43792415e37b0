import { eq } from "drizzle-orm";
import OpenAI from "openai";
import { beforeAll, describe, expect, it } from "vitest";
import { organizations, reservations } from "../../db/schema";
import { serviceTokenMatcher } from "../auth/service-tokens";
import { getBalance, type LedgerAccount } from "../ledger/service";
import { TEST_SERVICE_TOKEN } from "../testing/fixtures";
import { drained } from "./spawn";
import { usdNano } from "./testing";
import { demoMarketPerFile, fundedBuyer } from "../testing/proxy-process";

/**
 * Our proxy run by a provider with its provider service token (GATEWAY_TOKEN_KIND=provider),
 * against the real backend: the backend lets that token hold credit only for the provider's
 * own listings, named in each reservation, so the proxy holds per key and listing.
 */
const PROVIDER_TOKEN = "demo-provider-service-token-0123456789abcdef";

const m = demoMarketPerFile({
  matchServiceToken: serviceTokenMatcher(TEST_SERVICE_TOKEN, `demo-provider:${PROVIDER_TOKEN}`),
  serviceToken: PROVIDER_TOKEN,
  env: { GATEWAY_TOKEN_KIND: "provider" },
  stopSignal: "SIGKILL",
});
let account: LedgerAccount;
let secret: string;

beforeAll(async () => {
  ({ account, secret } = await fundedBuyer(m.backend, 10_000_000_000n, { name: "provider proxy" }));
});

describe("a proxy run by a provider with its provider token", () => {
  it("serves and bills a request to the provider's listing, from credit held under the provider's token", async () => {
    const client = new OpenAI({ baseURL: `${m.proxy.url}/v1`, apiKey: secret, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "demo-provider/llama-3.1-8b", messages: [{ role: "user", content: "Hello" }] });
    expect(r.choices[0]!.message.content).toBeTruthy();
    const cost = usdNano((r.usage as unknown as { cost: string }).cost);
    expect(cost).toBeGreaterThan(0n);
    await drained(m.proxy);
    expect((await getBalance(m.backend.t.db, { accountId: account.id })).debitsPosted).toBe(cost);

    const [provider] = await m.backend.t.db.select().from(organizations).where(eq(organizations.slug, "demo-provider"));
    const held = await m.backend.t.db.select().from(reservations);
    expect(held.length).toBeGreaterThan(0);
    expect(held.every((h) => h.serviceOrgId === provider!.id)).toBe(true);
  });

  it("routes a family two providers sell only to its own listing", async () => {
    const client = new OpenAI({ baseURL: `${m.proxy.url}/v1`, apiKey: secret, maxRetries: 0 });
    for (let i = 0; i < 3; i++) await client.chat.completions.create({ model: "llama-3.1-8b", messages: [{ role: "user", content: `family ${i}` }] });
    await drained(m.proxy);
    const { rows } = await m.backend.t.pool.query<{ slug: string }>(
      "select distinct o.slug from usage_events e join listings l on l.id = e.listing_id join organizations o on o.id = l.org_id",
    );
    expect(rows.map((r) => r.slug)).toEqual(["demo-provider"]);
  });

  it("refuses another provider's listing with a clear error and charges nothing", async () => {
    const before = (await getBalance(m.backend.t.db, { accountId: account.id })).debitsPosted;
    const client = new OpenAI({ baseURL: `${m.proxy.url}/v1`, apiKey: secret, maxRetries: 0 });
    const err = await client.chat.completions
      .create({ model: "second-provider/qwen2.5-7b", messages: [{ role: "user", content: "Hello" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect(err).toMatchObject({ status: 404, error: { code: "model_not_found", param: "model" } });
    expect((err as InstanceType<typeof OpenAI.APIError>).message).toMatch(/second-provider\/qwen2\.5-7b/);
    await drained(m.proxy);
    expect((await getBalance(m.backend.t.db, { accountId: account.id })).debitsPosted).toBe(before);
  });
});
