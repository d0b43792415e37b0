import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../lib/ids";
import { createTestDb, type TestDb } from "../testing/db";
import { priceInForce } from "./price-in-force";
import { inForceSql, pricePeriodsSql, pricesInForceAtSql } from "./price-in-force-sql";
import { priceAt } from "./prices";

// "The price in force at t" has one rule per language: the catalog and settlement read it in SQL,
// the proxy in TypeScript. On any history and any instant, both must name the same version.

let t: TestDb;
let orgId: string;
beforeAll(async () => {
  t = await createTestDb(2);
  orgId = uuidv7();
  await t.db.execute(sql`insert into organizations (id, name, slug) values (${orgId}, 'Prices', 'prices-org')`);
});
afterAll(() => t.close());

const T0 = Date.parse("2030-01-01T00:00:00.000Z");
// Starts on a coarse grid (so probes land on, just before and just after them), unique per listing.
const history = fc.uniqueArray(fc.integer({ min: 0, max: 40 }), { maxLength: 8 }).map((steps) => steps.map((s) => T0 + s * 60_000));
const probe = fc.oneof(
  fc.integer({ min: -2, max: 42 }).map((s) => T0 + s * 60_000),
  fc.integer({ min: -2 * 60_000, max: 42 * 60_000 }).map((ms) => T0 + ms),
);

async function listingWith(starts: number[]): Promise<string> {
  const id = uuidv7();
  await t.db.execute(sql`
    insert into listings (id, org_id, slug, model_slug, name, description, family, context_length, modalities, upstream_base_url, upstream_model)
    values (${id}, ${orgId}, ${`prices-org/m-${id}`}, ${`m-${id}`}, 'M', '', 'f', 8192, array['chat']::modality[], 'http://127.0.0.1:9/v1', 'm')`);
  // The input price names the version: its index in `starts`.
  for (const [i, s] of starts.entries()) {
    await t.db.execute(sql`insert into listing_prices (id, listing_id, effective_from, input_per1k_nano, output_per1k_nano, cached_input_per1k_nano)
      values (${uuidv7()}, ${id}, ${new Date(s).toISOString()}::timestamptz, ${i}, 0, 0)`);
  }
  return id;
}

describe("pricePeriodsSql + inForceSql agree with priceInForce", () => {
  it("on random histories at random instants, boundaries included", async () => {
    await fc.assert(
      fc.asyncProperty(history, fc.array(probe, { minLength: 1, maxLength: 30 }), async (starts, probes) => {
        const listingId = await listingWith(starts);
        // Each start, 1 ms either side of it, and the random probes.
        const instants = [...probes, ...starts.flatMap((s) => [s - 1, s, s + 1])];
        const values = sql.join(
          instants.map((ms, n) => sql`(${n}::int, ${new Date(ms).toISOString()}::timestamptz)`),
          sql`, `,
        );
        const { rows } = await t.db.execute<{ n: number; version: bigint | null }>(sql`
          select q.n, p.input_per1k_nano as version
          from (values ${values}) q(n, at)
          left join (${pricePeriodsSql(sql`lp.listing_id = ${listingId}`)}) p on ${inForceSql(sql`p`, sql`q.at`)}
          order by q.n`);
        const versions = starts.map((s, i) => ({ effectiveFrom: new Date(s), i: BigInt(i) }));
        expect(rows.map((r) => [r.n, r.version])).toEqual(instants.map((ms, n) => [n, priceInForce(versions, ms)?.i ?? null]));
        // So does the marketplace's one-pass form.
        const { rows: latest } = await t.db.execute<{ n: number; version: bigint | null }>(sql`
          select q.n, p.input_per1k_nano as version
          from (values ${values}) q(n, at)
          left join lateral (${pricesInForceAtSql(sql`lp.listing_id = ${listingId}`, sql`q.at`)}) p on true
          order by q.n`);
        expect(latest.map((r) => [r.n, r.version])).toEqual(instants.map((ms, n) => [n, priceInForce(versions, ms)?.i ?? null]));
        // The catalog's point read is the same fragment.
        const at = instants[0]!;
        const expected = priceInForce(versions, at);
        const read = await priceAt(t.db, { listingId, at: new Date(at) });
        expect(read && [read.effectiveFrom, read.inputPer1kNano]).toEqual(expected && [expected.effectiveFrom, expected.i]);
      }),
      { numRuns: 60 },
    );
  });
});
