import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { decryptCredential } from "../server/catalog/crypto";
import { createTestDb, type TestDb } from "../server/testing/db";
import { callerFor } from "../server/testing/fixtures";
import { demoListings, seedDemo } from "./seed";

let t: TestDb;
const encryptionKey = randomBytes(32);
const upstreamUrl = "http://127.0.0.1:8790/v1";

beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.close());

describe("demo seed", () => {
  it("publishes both providers' listings, a shared family, two price versions each; a second run changes nothing", async () => {
    expect((await seedDemo(t.db, { upstreamUrl, encryptionKey })).created).toBe(true);
    const snapshot = () =>
      t.pool.query("select (select json_agg(l order by slug)::text from listings l) l, (select json_agg(p order by id)::text from listing_prices p) p");
    const first = await snapshot();
    expect((await seedDemo(t.db, { upstreamUrl, encryptionKey })).created).toBe(false);
    expect((await snapshot()).rows).toEqual(first.rows);

    const family = await callerFor(t.db, null).catalog.family({ family: "llama-3.1-8b" });
    expect(family.listings.map((l) => l.provider.slug).sort()).toEqual(["demo-provider", "second-provider"]);
    expect(new Set(family.listings.map((l) => l.tokensPerWatt)).size).toBe(2);
    expect(new Set(family.listings.map((l) => l.comparablePer1MNano)).size).toBe(2);

    const { total } = await callerFor(t.db, null).catalog.marketplace({});
    expect(total).toBe(demoListings.length);
    for (const d of demoListings) {
      const page = await callerFor(t.db, null).catalog.listing({ slug: `${d.org}/${d.modelSlug}` });
      expect(page.priceHistory).toHaveLength(2);
    }
    const { rows } = await t.pool.query("select id, upstream_credential_enc, upstream_base_url from listings");
    for (const r of rows) {
      expect(r.upstream_base_url).toBe(upstreamUrl);
      expect(decryptCredential(r.upstream_credential_enc, encryptionKey, r.id)).toMatch(/^demo-upstream-key-/);
    }
  });
});
