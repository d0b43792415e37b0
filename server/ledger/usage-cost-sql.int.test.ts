import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgArray } from "../lib/pg-array";
import { createTestDb, type TestDb } from "../testing/db";
import { INT64_MAX, usageCostNano } from "./money";

// TypeScript's usageCostNano and SQL's tm_usage_cost must agree on every input, including
// exact ties, values near and past the int64 limit (both must refuse those), and zeros.

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb(4);
  // Per-row error capture for inputs that must overflow in both languages.
  await t.pool.query(`
    CREATE FUNCTION test_try_usage_cost(a bigint, b bigint, c bigint, d bigint, e bigint, f bigint) RETURNS text
    LANGUAGE plpgsql AS $$
    BEGIN RETURN tm_usage_cost(a, b, c, d, e, f)::text;
    EXCEPTION WHEN numeric_value_out_of_range THEN RETURN 'overflow';
    END $$`);
});
afterAll(() => t.close());

type Case = [bigint, bigint, bigint, bigint, bigint, bigint];

/** mulberry32: small, fast and seeded, so a failure is reproducible from the seed printed. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  const u63 = () => (BigInt(int(2 ** 31)) << 32n) | BigInt(int(2 ** 32));
  return { next, int, u63 };
}

function generate(seed: number, n: number): Case[] {
  const r = rng(seed);
  const cases: Case[] = [];
  const small = () => BigInt(r.int(200_001));
  const price = () => BigInt(r.int(100_000_001));
  for (let i = 0; i < n; i++) {
    const kind = i % 10;
    if (kind < 4) {
      // Realistic requests and prices.
      cases.push([small(), small(), small(), price(), price(), price()]);
    } else if (kind < 6) {
      // Exact ties: n ≡ 500 (mod 1000) through one class, then through a mix of classes.
      const odd = BigInt(2 * r.int(1_000_000) + 1);
      const oddPrice = 500n * BigInt(2 * r.int(1_000_000) + 1);
      if (kind === 4) cases.push([odd, 0n, 0n, oddPrice, 0n, 0n]);
      else {
        const [a, pa, c, pc] = [small(), price(), small(), price()];
        const partial = a * pa + c * pc;
        const pOut = ((((500n - partial) % 1000n) + 1000n) % 1000n) + 1000n * BigInt(r.int(1000));
        cases.push([a, 1n, c, pa, pOut, pc]);
      }
    } else if (kind < 8) {
      // Near the int64 limit: the result lands within a few units of INT64_MAX, either side.
      const tokens = BigInt(r.int(2 ** 31) + 1);
      const p = (INT64_MAX * 1000n) / tokens + BigInt(r.int(5)) - 2n;
      cases.push([tokens, 0n, 0n, p > INT64_MAX ? INT64_MAX : p, 0n, 0n]);
    } else if (kind === 8) {
      // Very large: random 63-bit values (mostly overflowing) and zeros.
      const pick = () => (r.next() < 0.2 ? 0n : r.u63());
      cases.push([pick(), pick(), pick(), pick(), pick(), pick()]);
    } else {
      // Negative counts: rounding must stay symmetric in both languages.
      cases.push([-small(), small(), -small(), price(), price(), price()]);
    }
  }
  return cases;
}

function tsCost(c: Case): string {
  try {
    return usageCostNano(
      { input: c[0], output: c[1], cachedInput: c[2] },
      { inputPer1kNano: c[3], outputPer1kNano: c[4], cachedInputPer1kNano: c[5] },
    ).toString();
  } catch (e) {
    if (e instanceof RangeError) return "overflow";
    throw e;
  }
}

async function sqlCosts(fn: string, cases: Case[]): Promise<string[]> {
  const cols = [0, 1, 2, 3, 4, 5].map((k) => pgArray(cases.map((c) => c[k]!)));
  const { rows } = await t.pool.query<{ costs: string | null }>(
    `SELECT string_agg(${fn}(a, b, c, d, e, f)::text, ',' ORDER BY i) AS costs
     FROM unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[]) WITH ORDINALITY AS u(a, b, c, d, e, f, i)`,
    cols,
  );
  return rows[0]!.costs?.split(",") ?? [];
}

describe("tm_usage_cost (SQL) agrees with usageCostNano (TypeScript)", () => {
  it.each([
    ["a tie goes to even", [1n, 0n, 0n, 500n, 0n, 0n], "0"],
    ["1.5 goes to 2", [3n, 0n, 0n, 500n, 0n, 0n], "2"],
    ["the largest cost", [INT64_MAX, 0n, 0n, 1000n, 0n, 0n], INT64_MAX.toString()],
  ] as const)("labelled: %s", async (_label, c, cost) => {
    expect(await sqlCosts("tm_usage_cost", [c as unknown as Case])).toEqual([cost]);
    expect(tsCost(c as unknown as Case)).toBe(cost);
  });

  it("raises on overflow instead of wrapping", async () => {
    await expect(t.pool.query("select tm_usage_cost($1, 1, 0, 1000, 1000, 0)", [INT64_MAX.toString()])).rejects.toThrow(/out of range/);
  });

  it("on 1 000 000 random inputs, including ties, near-limit, huge and negative values", async () => {
    const seed = Date.now() % 2 ** 31;
    const total = 1_000_000;
    const batch = 100_000;
    let ties = 0;
    let overflows = 0;
    for (let start = 0; start < total; start += batch) {
      const cases = generate(seed + start, batch);
      const expected = cases.map(tsCost);
      const fits = cases.filter((_, i) => expected[i] !== "overflow");
      const over = cases.filter((_, i) => expected[i] === "overflow");
      const [gotFits, gotOver] = await Promise.all([sqlCosts("tm_usage_cost", fits), sqlCosts("test_try_usage_cost", over)]);
      const wantFits = expected.filter((e) => e !== "overflow");
      for (let i = 0; i < fits.length; i++) {
        if (gotFits[i] !== wantFits[i])
          expect({ seed, input: fits[i]!.map(String), sql: gotFits[i] }).toEqual({ seed, input: fits[i]!.map(String), sql: wantFits[i] });
      }
      expect(gotOver).toEqual(over.map(() => "overflow"));
      overflows += over.length;
      ties += fits.filter((c) => (c[0] * c[3] + c[1] * c[4] + c[2] * c[5]) % 1000n === 500n).length;
    }
    // The generator really exercised the edges it claims to.
    expect(ties).toBeGreaterThan(150_000);
    expect(overflows).toBeGreaterThan(50_000);
  }, 120_000);
});
