import fs from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { inputCostNano } from "../economy/cput";
import { uuidv7 } from "../lib/ids";
import { usageCostNano } from "../ledger/money";
import { pgArray } from "../lib/pg-array";
import { createTestDb, type TestDb } from "../testing/db";
import type { UsageEvent } from "./contract";
import { reserve } from "./reservations";
import { reportUsage } from "./settlement";
import { settleThrough } from "./settler";
import { makeBuyer, makeEvent, makeListing, makeProvider, priceInForce, type WorldListing } from "./testing";

// Each usage event's input cost is fixed when stage 1 prices it (usage_events.input_cost_nano, server/usage/ingest.ts)
// with tm_input_cost_nano (migration 0033), and the rollups sum it. tm_input_cost_nano must equal inputCostNano on every
// input: rounding in int8 within its bounds, through tm_usage_cost past them. Here every stored value must be what inputCostNano (server/economy/cput.ts), the one rule,
// gives for the event's tokens at the price version in force at its start, bounded by what it was billed: across a
// price change, cached input at its own price, ties rounded half-even, and capped events; and migration 0033 must
// write the same values for events priced before the column existed.

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let t: TestDb;
let provider: { id: string; slug: string };
let changing: WorldListing;
let ties: WorldListing;
const events = new Map<string, { event: UsageEvent; listing: WorldListing }>();

beforeAll(async () => {
  t = await createTestDb();
  provider = await makeProvider(t.db, "input-cost");
  changing = await makeListing(t.db, provider, [
    { effectiveFrom: new Date(Date.now() - 2 * DAY), inputPer1kNano: 150_000n, outputPer1kNano: 600_000n, cachedInputPer1kNano: 75_000n },
    { effectiveFrom: new Date(Date.now() - HOUR), inputPer1kNano: 333n, outputPer1kNano: 1_000_000n, cachedInputPer1kNano: 111n },
  ]);
  // Small input prices, so (input·p_in + cached·p_cached) / 1000 lands on exact halves; one output token bills well above them.
  ties = await makeListing(t.db, provider, [
    { effectiveFrom: new Date(Date.now() - 2 * DAY), inputPer1kNano: 100n, outputPer1kNano: 1_000_000n, cachedInputPer1kNano: 50n },
  ]);
});
afterAll(() => t.close());

type Stored = { id: string; cost_nano: bigint; input_cost_nano: bigint };
async function storedEvents(): Promise<Stored[]> {
  return (await t.pool.query<Stored>("select id, cost_nano, input_cost_nano from usage_events order by id")).rows;
}

/** What the rule says of a stored event: its tokens at the price in force at its start (the test's own model), at most its cost. */
function ruleOf(s: Stored): bigint {
  const { event, listing } = events.get(s.id)!;
  const price = priceInForce(listing, event.startedAt)!;
  return inputCostNano({ input: event.inputTokens, cachedInput: event.cachedInputTokens }, price, s.cost_nano);
}

async function report(batch: UsageEvent[], listing: WorldListing, service: Parameters<typeof reportUsage>[1]["service"]) {
  for (const event of batch) events.set(event.id, { event, listing });
  const results = await reportUsage(t.db, { events: batch, service, defaultFeeBps: 500, settle: "windowed" });
  expect(results.map((r) => r.status)).toEqual(batch.map(() => "settled"));
  return results;
}

describe("usage_events.input_cost_nano", () => {
  it("is inputCostNano of every event at its price version: price change, cached input, half-even ties, capped bills", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 1_000_000_000_000n });
    const key = buyer.keyIds[0]!;
    const platform = { kind: "platform" as const };
    // Either side of the price change, with and without cached input.
    const spread = Array.from({ length: 40 }, (_, i) => {
      const startedAt = new Date(Date.now() - (i % 2 ? 2 * HOUR : 10 * 60_000) - i * 1000);
      return makeEvent({
        id: uuidv7(startedAt.getTime()),
        keyId: key,
        listingId: changing.id,
        startedAt,
        inputTokens: 1 + ((i * 7919) % 5000),
        cachedInputTokens: i % 3 === 0 ? 0 : (i * 104_729) % 3000,
        outputTokens: (i * 31) % 700,
      });
    });
    await report(spread, changing, platform);
    // input·100 + cached·50 over 1000: 0.5 → 0, 1.5 → 2, 2.5 → 2 (cached only), 0.55 → 1.
    const halves: [number, number, bigint][] = [
      [5, 0, 0n],
      [15, 0, 2n],
      [0, 50, 2n],
      [1, 9, 1n],
    ];
    const tied = halves.map(([inputTokens, cachedInputTokens]) =>
      makeEvent({ keyId: key, listingId: ties.id, inputTokens, cachedInputTokens, outputTokens: 1 }),
    );
    await report(tied, ties, platform);

    // A provider's own reservation caps what its events bill: the first bills part of its input, the next nothing.
    const capped = await makeBuyer(t.db, { creditNano: 1_000_000_000_000n });
    const service = { kind: "provider" as const, orgSlug: provider.slug };
    const hold = await reserve(t.db, { id: uuidv7(), keyId: capped.keyIds[0]!, listingId: changing.id, amountNano: 40_000n, ttlSeconds: 600, service });
    const v1 = changing.prices[0]!;
    const startedAt = new Date(Date.now() - 3 * HOUR);
    const over = [uuidv7(startedAt.getTime()), uuidv7(startedAt.getTime())]
      .sort()
      .map((id) => makeEvent({ id, keyId: capped.keyIds[0]!, listingId: changing.id, reservationId: hold.id, startedAt, inputTokens: 750 }));
    const cappedResults = await report(over, changing, service);
    expect(cappedResults.map((r) => r.costNano)).toEqual([40_000n, 0n]);

    const stored = await storedEvents();
    expect(stored).toHaveLength(spread.length + tied.length + over.length);
    expect(stored.filter((s) => s.input_cost_nano !== ruleOf(s)).map((s) => ({ id: s.id, stored: s.input_cost_nano, rule: ruleOf(s) }))).toEqual([]);
    // The cases happened: halves rounded as stated, bills under their input's price stored at what was billed, both price versions used.
    const byId = new Map(stored.map((s) => [s.id, s]));
    expect(tied.map((e) => byId.get(e.id)!.input_cost_nano)).toEqual(halves.map(([, , want]) => want));
    const uncappedInput = usageCostNano({ input: 750, output: 0, cachedInput: 0 }, v1);
    expect(uncappedInput).toBe(112_500n);
    expect(over.map((e) => byId.get(e.id)!.input_cost_nano)).toEqual([40_000n, 0n]);
    const versions = new Set(spread.map((e) => priceInForce(changing, e.startedAt)!.inputPer1kNano));
    expect(versions).toEqual(new Set([150_000n, 333n]));
    expect(spread.some((e) => e.cachedInputTokens > 0 && e.inputTokens > 0)).toBe(true);

    // The window sums the stored column into the rollups.
    await settleThrough(t.db);
    const { rows } = await t.pool.query<{ listing_id: string; input_cost_nano: bigint }>(
      "select listing_id, sum(input_cost_nano)::int8 as input_cost_nano from listing_hourly group by 1",
    );
    const want = new Map<string, bigint>();
    for (const s of stored) {
      const l = events.get(s.id)!.listing.id;
      want.set(l, (want.get(l) ?? 0n) + ruleOf(s));
    }
    expect(new Map(rows.map((r) => [r.listing_id, r.input_cost_nano]))).toEqual(want);
  });

  it("refuses an input cost above what the event was billed, or below zero", async () => {
    const [s] = await storedEvents();
    await expect(t.pool.query("update usage_events set input_cost_nano = cost_nano + 1 where id = $1", [s!.id])).rejects.toThrow(
      /usage_events_input_cost_nano/,
    );
    await expect(t.pool.query("update usage_events set input_cost_nano = -1 where id = $1", [s!.id])).rejects.toThrow(/usage_events_input_cost_nano/);
    await expect(t.pool.query("update usage_events set input_cost_nano = null where id = $1", [s!.id])).rejects.toThrow(/null value/);
  });

  it("migration 0033 gives events priced before the column the same input cost, settled or waiting for a window", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 1_000_000_000_000n });
    // Left unsettled: a batch waiting when the migration runs.
    await report([makeEvent({ keyId: buyer.keyIds[0]!, listingId: changing.id, inputTokens: 1234, cachedInputTokens: 567 })], changing, { kind: "platform" });
    const before = await storedEvents();
    expect((await t.pool.query("select count(*)::int as n from usage_batches where settled_at is null")).rows[0].n).toBe(1);
    await t.pool.query("alter table usage_events drop column input_cost_nano");
    await t.pool.query("drop function tm_input_cost_nano");
    for (const statement of fs.readFileSync("db/migrations/0033_usage_event_input_cost.sql", "utf8").split("--> statement-breakpoint")) {
      await t.pool.query(statement);
    }
    const after = await storedEvents();
    expect(after).toEqual(before);
    expect(after.filter((s) => s.input_cost_nano !== ruleOf(s))).toEqual([]);
    const { rows } = await t.pool.query(
      "select is_nullable from information_schema.columns where table_name = 'usage_events' and column_name = 'input_cost_nano'",
    );
    expect(rows).toEqual([{ is_nullable: "NO" }]);
  });
});

/** mulberry32: small, fast and seeded, so a failure is reproducible from the seed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return (max: number) => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return Math.floor((((x ^ (x >>> 14)) >>> 0) / 4294967296) * max);
  };
}

type Case = { input: bigint; cached: bigint; pIn: bigint; pCached: bigint; billed: bigint };

function cases(seed: number, n: number): Case[] {
  const r = rng(seed);
  const big = (max: bigint) => (BigInt(r(2 ** 30)) * BigInt(2 ** 30) + BigInt(r(2 ** 30))) % (max + 1n);
  // Values either side of the int8 path's bounds (tokens 1e8, prices 1e10), and of the largest prices and token counts.
  const edge = (bound: bigint) => bound + BigInt(r(5)) - 2n;
  const out: Case[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i % 6;
    let c: Omit<Case, "billed">;
    if (kind === 0) c = { input: BigInt(r(200_001)), cached: BigInt(r(200_001)), pIn: BigInt(r(100_000_001)), pCached: BigInt(r(100_000_001)) };
    else if (kind === 1) {
      // Exact halves: input·p_in + cached·p_cached ≡ 500 (mod 1000), the quotient odd or even.
      const cached = BigInt(r(1000));
      const pCached = BigInt(r(1_000_000));
      const pIn = 1000n * BigInt(r(1000)) + 1n;
      const want = 500n + 1000n * BigInt(r(1_000_000));
      const input = (((want - cached * pCached) % 1000n) + 1000n) % 1000n;
      c = { input, cached, pIn, pCached };
    } else if (kind === 2) c = { input: edge(100_000_000n), cached: edge(100_000_000n), pIn: edge(10_000_000_000n), pCached: edge(10_000_000_000n) };
    else if (kind === 3) c = { input: big(2_147_483_647n), cached: big(2_147_483_647n), pIn: big(1_000_000_000_000n), pCached: big(1_000_000_000_000n) };
    else if (kind === 4) c = { input: BigInt(r(100_000_001)), cached: BigInt(r(3)), pIn: big(10_000_000_000n), pCached: 0n };
    else c = { input: BigInt(r(3)), cached: 0n, pIn: BigInt(r(3)), pCached: BigInt(r(3)) };
    const full = usageCostNano(
      { input: c.input, output: 0, cachedInput: c.cached },
      { inputPer1kNano: c.pIn, outputPer1kNano: 0n, cachedInputPer1kNano: c.pCached },
    );
    // Billed: more than the input's price, exactly it, part of it (a capped event) or nothing.
    const billed = [full + BigInt(r(1000)), full, full > 0n ? big(full - 1n) : 0n, 0n][r(4)]!;
    out.push({ ...c, billed });
  }
  return out;
}

describe("tm_input_cost_nano, the SQL twin of inputCostNano", () => {
  it.each([1, 2, 3])("agrees with inputCostNano on 5 000 seeded inputs (seed %i): halves, both sides of its int8 bounds, caps", async (seed) => {
    const all = cases(seed, 5000);
    const col = (f: (c: Case) => bigint) => pgArray(all.map((c) => f(c).toString()));
    const { rows } = await t.pool.query<{ cost: string }>(
      `select tm_input_cost_nano(c.input, c.cached, c.p_in, c.p_cached, c.billed)::text as cost
       from unnest($1::int8[], $2::int8[], $3::int8[], $4::int8[], $5::int8[]) with ordinality as c(input, cached, p_in, p_cached, billed, n) order by n`,
      [col((c) => c.input), col((c) => c.cached), col((c) => c.pIn), col((c) => c.pCached), col((c) => c.billed)],
    );
    const differ = all.flatMap((c, i) => {
      const want = inputCostNano(
        { input: c.input, cachedInput: c.cached },
        { inputPer1kNano: c.pIn, outputPer1kNano: 0n, cachedInputPer1kNano: c.pCached },
        c.billed,
      );
      return BigInt(rows[i]!.cost) === want ? [] : [{ ...c, sql: rows[i]!.cost, ts: want }];
    });
    expect(differ).toEqual([]);
    // Both paths ran: inputs inside the int8 bounds and past them.
    expect(all.some((c) => c.input > 100_000_000n || c.pIn > 10_000_000_000n)).toBe(true);
    expect(all.some((c) => c.input <= 100_000_000n && c.pIn <= 10_000_000_000n && c.cached <= 100_000_000n && c.pCached <= 10_000_000_000n)).toBe(true);
  });
});
