import { sql } from "drizzle-orm";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../testing/db";
import { comparablePer1MNano } from "./comparable";
import { comparablePer1MSql } from "./comparable-sql";

// The comparable price (and the 3:1 blend inside it) has one home per language; the marketplace
// filters and sorts in SQL and shows the TypeScript figure, so the two must agree on every input.

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb(2);
});
afterAll(() => t.close());

const modalitySets = fc.subarray(["chat", "completion", "embeddings"] as const, { minLength: 1 });
// Prices up to int64 (nano-USD per 1k), where 3·in + out would overflow a bigint but not numeric.
const price = fc.oneof(fc.bigInt({ min: 0n, max: 100_000_000n }), fc.bigInt({ min: 0n, max: 9_223_372_036_854_775_807n }));

describe("comparablePer1MSql agrees with comparablePer1MNano", () => {
  it("on random prices and modality sets, batched", async () => {
    const cases = fc.sample(fc.tuple(price, price, modalitySets), 2_000);
    cases.push([0n, 0n, ["embeddings"]], [9_223_372_036_854_775_807n, 9_223_372_036_854_775_807n, ["chat"]]);
    const values = sql.join(
      cases.map(([i, o, m], n) => sql`(${n}::int, ${i.toString()}::int8, ${o.toString()}::int8, ${`{${m.join(",")}}`}::modality[])`),
      sql`, `,
    );
    const expr = comparablePer1MSql({ inputPer1k: sql`v.i`, outputPer1k: sql`v.o`, modalities: sql`v.m` });
    const { rows } = await t.db.execute<{ n: number; price: string }>(
      sql`select v.n, ${expr}::text as price from (values ${values}) v(n, i, o, m) order by v.n`,
    );
    expect(rows).toHaveLength(cases.length);
    for (const r of rows) {
      const [i, o, m] = cases[r.n]!;
      expect([r.n, BigInt(r.price)]).toEqual([r.n, comparablePer1MNano({ inputPer1kNano: i, outputPer1kNano: o }, m)]);
    }
  });
});
