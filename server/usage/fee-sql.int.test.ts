import { afterAll, beforeAll, expect, it } from "vitest";
import { splitFee } from "../ledger/money";
import { createTestDb, type TestDb } from "../testing/db";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb(1);
});
afterAll(() => t.close());

it("tm_fee_nano (SQL) agrees with splitFee on rounding ties, edges and 100 000 random inputs", async () => {
  const cases: [bigint, number][] = [
    [0n, 500],
    [1n, 5000],
    [3n, 5000],
    [5n, 1000],
    [15n, 1000],
    [25n, 1000],
    [9_223_372_036_854_775_807n, 1],
    [123_456_789n, 0],
    [123_456_789n, 10_000],
  ];
  for (let i = 0; i < 100_000; i++) {
    const cost = BigInt(Math.floor(Math.random() * 1e12)) * (i % 3 === 0 ? 1_000_000n : 1n);
    cases.push([cost, Math.floor(Math.random() * 10_001)]);
  }
  const { rows } = await t.pool.query<{ fee: string }>(
    "select tm_fee_nano(c, b)::text as fee from unnest($1::int8[], $2::int4[]) with ordinality as u(c, b, n) order by n",
    [cases.map(([c]) => c.toString()), cases.map(([, b]) => b)],
  );
  const mismatches = cases.filter(([c, b], i) => splitFee(c, b).feeNano !== BigInt(rows[i]!.fee));
  expect(mismatches).toEqual([]);
});
