import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CATALOG_REFRESH_MAX_MS } from "../contract/catalog";
import { catalogEncryptionKey } from "../env";
import { priceAt as proxyPriceAt } from "../gateway/routing";
import { createTestDb, type TestDb } from "../testing/db";
import { makeOrg, makeUser } from "../testing/fixtures";
import type { SessionUser } from "../api/trpc";
import { createListing, setListingStatus } from "./listings";
import { PRICE_NOTICE_MS } from "./price-in-force";
import { cancelScheduledPrice, changeListingPrice } from "./price-schedule";
import { priceAt, priceHistory } from "./prices";
import { routingTable } from "./routing";

// The price notice: a price change takes effect no sooner than PRICE_NOTICE_MS after it is made,
// so a proxy (refreshing catalog.routing at least every CATALOG_REFRESH_MAX_MS) never quotes or
// holds at a price settlement will not charge. Times are injected; nothing waits.

let t: TestDb;
let owner: SessionUser;
let org: { id: string; slug: string };
const T0 = new Date("2030-06-01T00:00:00.000Z");
const ms = (d: Date, delta: number) => new Date(d.getTime() + delta);
const prices = (input: string) => ({ unit: "1M" as const, input, output: "0.2", cachedInput: "0" });

beforeAll(async () => {
  t = await createTestDb(4);
  owner = await makeUser(t.db, "notice-owner");
  org = await makeOrg(t.db, owner, { name: "Notice GPUs" });
});
afterAll(() => t.close());

async function publishedListing(modelSlug: string) {
  const { id } = await createListing(t.db, {
    orgId: org.id,
    orgSlug: org.slug,
    userId: owner.id,
    key: catalogEncryptionKey(),
    now: T0,
    input: {
      modelSlug,
      name: `Model ${modelSlug}`,
      description: "",
      family: "notice-family",
      contextLength: 8192,
      modalities: ["chat"],
      upstreamBaseUrl: "http://127.0.0.1:9/v1",
      upstreamModel: "m",
      tokensPerWatt: null,
      energyHardware: null,
      energyMethod: null,
      energyMeasuredOn: null,
      gridCarbonGPerKwh: null,
      region: null,
      tokenizer: "o200k_base",
      prices: prices("0.10"),
    },
  });
  await setListingStatus(t.db, { orgId: org.id, input: { id, status: "published" }, userId: owner.id });
  return id;
}

const change = (id: string, now: Date, effectiveFrom?: Date, input = "0.30") =>
  changeListingPrice(t.db, { orgId: org.id, userId: owner.id, now, input: { id, prices: prices(input), effectiveFrom } });

describe("a price change waits out the notice", () => {
  it("left without a time, it takes effect exactly PRICE_NOTICE_MS after it is made", async () => {
    const id = await publishedListing("notice-default");
    const now = ms(T0, 60_000);
    expect((await change(id, now)).effectiveFrom).toEqual(ms(now, PRICE_NOTICE_MS));
  });

  const rows: [string, number, string | null][] = [
    ["in the past", -1, "effectiveFrom: a price change cannot take effect in the past"],
    ["at the moment it is made", 0, "effectiveFrom: a price change takes effect at least 30 seconds after it is made"],
    ["1 ms short of the notice", PRICE_NOTICE_MS - 1, "effectiveFrom: a price change takes effect at least 30 seconds after it is made"],
    ["exactly the notice", PRICE_NOTICE_MS, null],
    ["a day ahead", 86_400_000, null],
  ];
  it.each(rows)("an explicit time %s: %s", async (label, delta, error) => {
    const id = await publishedListing(`notice-${label.replaceAll(/[^a-z0-9]+/g, "-")}`);
    const now = ms(T0, 60_000);
    const before = await priceHistory(t.db, { listingId: id });
    const result = change(id, now, ms(now, delta));
    if (error === null) {
      expect((await result).effectiveFrom).toEqual(ms(now, delta));
    } else {
      await expect(result).rejects.toMatchObject({ code: "INVALID_INPUT", field: "effectiveFrom", message: expect.stringContaining(error) });
      expect(await priceHistory(t.db, { listingId: id })).toEqual(before);
    }
  });

  it("a proxy one refresh behind still quotes what settlement charges; after its next refresh it switches on time", async () => {
    const id = await publishedListing("notice-proxy");
    const madeAt = ms(T0, 120_000);
    const table = async (at: Date) =>
      (await routingTable(t.db, { service: { kind: "platform" }, key: catalogEncryptionKey(), now: at })).listings.find((l) => l.listingId === id)!;
    // The proxy refreshed 1 ms before the change: its table does not know it.
    const stale = await table(ms(madeAt, -1));
    const { effectiveFrom } = await change(id, madeAt);
    // Until its next refresh (at most CATALOG_REFRESH_MAX_MS later) it quotes from the stale table.
    for (const at of [madeAt, ms(madeAt, CATALOG_REFRESH_MAX_MS - 1)]) {
      expect(proxyPriceAt(stale, at.getTime()).inputPer1kNano, `stale table at ${at.toISOString()}`).toBe(
        (await priceAt(t.db, { listingId: id, at }))!.inputPer1kNano,
      );
    }
    // Even after a failed refresh, the one after it has the change before it takes effect.
    const refreshed = await table(ms(madeAt, 2 * CATALOG_REFRESH_MAX_MS - 1));
    for (const at of [ms(madeAt, 2 * CATALOG_REFRESH_MAX_MS - 1), ms(effectiveFrom, -1), effectiveFrom, ms(effectiveFrom, 1), ms(effectiveFrom, 86_400_000)]) {
      expect(proxyPriceAt(refreshed, at.getTime()).inputPer1kNano, `refreshed table at ${at.toISOString()}`).toBe(
        (await priceAt(t.db, { listingId: id, at }))!.inputPer1kNano,
      );
    }
    expect(proxyPriceAt(refreshed, effectiveFrom.getTime()).inputPer1kNano).toBe(300_000n);
  });

  it("a scheduled change due within the notice cannot be cancelled: proxies already quote it", async () => {
    const id = await publishedListing("notice-cancel");
    const madeAt = ms(T0, 180_000);
    const { effectiveFrom } = await change(id, madeAt, ms(madeAt, 3_600_000));
    const cancel = (now: Date) => cancelScheduledPrice(t.db, { orgId: org.id, userId: owner.id, now, input: { id, effectiveFrom } });
    await expect(cancel(ms(effectiveFrom, -PRICE_NOTICE_MS + 1))).rejects.toMatchObject({
      code: "CONFLICT",
      field: "effectiveFrom",
      message: expect.stringContaining("takes effect in less than 30 seconds"),
    });
    expect((await priceHistory(t.db, { listingId: id })).map((v) => v.effectiveFrom)).toContainEqual(effectiveFrom);
    expect(await cancel(ms(effectiveFrom, -PRICE_NOTICE_MS))).toEqual({ listingId: id, effectiveFrom });
  });
});
