import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { env } from "../env";
import { uuidv7 } from "../lib/ids";
import { splitFee, usageCostNano } from "../ledger/money";
import { createTestDb, type TestDb } from "../testing/db";
import { callerFor, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import type { UsageEvent } from "./contract";
import { reserve } from "./reservations";
import { expectEverythingSettledOnce } from "./settlement-proof";
import { accountSums, makeBuyer, makeEvent, makeListing, makeProvider, priceInForce, type WorldBuyer, type WorldListing } from "./testing";

// Acceptance 1: N events (SETTLEMENT_TEST_EVENTS: 20 000 here, 200 000 under `npm run test:soak`),
// 20 % of the sends duplicates, shuffled, four concurrent reporters with random batch sizes and
// resends, then conflicting versions of settled ids. Everything is compared with totals the test
// computes itself from the price histories it created.

const N = env().SETTLEMENT_TEST_EVENTS;
const DAY = 24 * 3600 * 1000;
const DEFAULT_FEE_BPS = 500;

let t: TestDb;
let seed = 0x2545f491;
/** Deterministic pseudo-random numbers (xorshift), so a failure can be replayed. */
const rand = () => {
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
};
const pick = <T>(xs: readonly T[]) => xs[Math.floor(rand() * xs.length)]!;
function shuffle<T>(xs: T[]): T[] {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
}

beforeAll(async () => {
  t = await createTestDb(12);
});
afterAll(() => t.close());

describe(`settlement of ${N} events by 4 concurrent reporters`, () => {
  it(
    "settles every event exactly once; ledger totals equal an independent computation to the nano; every settlement's transfers equal its events",
    async () => {
      const now = Date.now();
      const providers = [await makeProvider(t.db, "alpha"), await makeProvider(t.db, "beta"), await makeProvider(t.db, "gamma")];
      const feeBps = new Map(providers.map((p) => [p.id, DEFAULT_FEE_BPS]));
      await t.pool.query("insert into provider_fee_overrides (org_id, fee_bps) values ($1, 250)", [providers[2]!.id]);
      feeBps.set(providers[2]!.id, 250);
      const listings: WorldListing[] = [];
      for (let i = 0; i < 8; i++) {
        const versions = [
          {
            effectiveFrom: new Date(now - 40 * DAY),
            inputPer1kNano: BigInt(10_000 + i * 7_919),
            outputPer1kNano: BigInt(40_000 + i * 13),
            cachedInputPer1kNano: BigInt(5_000 + i),
          },
        ];
        for (let v = 0; v < 1 + (i % 3); v++) {
          versions.push({
            effectiveFrom: new Date(now - Math.floor(rand() * 30 * DAY)),
            inputPer1kNano: BigInt(Math.floor(rand() * 2_000_000)),
            outputPer1kNano: BigInt(Math.floor(rand() * 8_000_000)),
            cachedInputPer1kNano: BigInt(Math.floor(rand() * 500_000)),
          });
        }
        listings.push(await makeListing(t.db, providers[i % 3]!, versions));
      }
      // Rich buyers, buyers whose credit runs out (the rest becomes owed), one with a credit limit.
      const buyers: WorldBuyer[] = [];
      for (let i = 0; i < 12; i++) {
        const creditNano = i < 6 ? 1_000_000_000_000n : i < 11 ? BigInt(1 + Math.floor(rand() * 50)) * 100_000_000n : 0n;
        buyers.push(await makeBuyer(t.db, { creditNano, creditLimitNano: i === 11 ? 5_000_000_000n : 0n, keys: 2 }));
      }
      const keys = buyers.flatMap((b) => b.keyIds.map((keyId) => ({ keyId, buyer: b })));
      const reservationsOf = new Map<string, string[]>();
      for (const k of keys) {
        const ids: string[] = [];
        for (let r = 0; r < 3; r++) {
          const res = await reserve(t.db, { id: uuidv7(), keyId: k.keyId, amountNano: 2_000_000_000n, ttlSeconds: 3600 });
          ids.push(res.id);
        }
        reservationsOf.set(k.keyId, ids);
      }

      // The events and what each must cost.
      type Expected = { event: UsageEvent; buyer: WorldBuyer; listing: WorldListing; costNano: bigint; feeNano: bigint };
      const expected: Expected[] = [];
      for (let i = 0; i < N; i++) {
        const k = pick(keys);
        const listing = pick(listings);
        const startedAt = new Date(now - 60_000 - Math.floor(rand() * 30 * DAY));
        const r = rand();
        const event = makeEvent({
          keyId: k.keyId,
          listingId: listing.id,
          reservationId: r < 0.4 ? pick(reservationsOf.get(k.keyId)!) : r < 0.45 ? uuidv7() : null,
          inputTokens: Math.floor(rand() * 20_000),
          outputTokens: Math.floor(rand() * 4_000),
          cachedInputTokens: rand() < 0.3 ? Math.floor(rand() * 10_000) : 0,
          startedAt,
          firstTokenAt: rand() < 0.9 ? new Date(startedAt.getTime() + Math.floor(rand() * 500)) : null,
          endedAt: new Date(startedAt.getTime() + 500 + Math.floor(rand() * 5_000)),
          status: rand() < 0.05 ? "error" : "ok",
        });
        const p = priceInForce(listing, startedAt)!;
        const costNano = usageCostNano({ input: event.inputTokens, output: event.outputTokens, cachedInput: event.cachedInputTokens }, p);
        expected.push({ event, buyer: k.buyer, listing, costNano, feeNano: splitFee(costNano, feeBps.get(listing.providerOrgId)!).feeNano });
      }
      const byId = new Map(expected.map((x) => [x.event.id, x]));

      // 20 % of the sends are duplicates (copies of the same object), shuffled among the rest.
      const sends: unknown[] = expected.map((x) => x.event);
      const copies = Math.round(N / 4);
      for (let i = 0; i < copies; i++) sends.push({ ...pick(expected).event });
      shuffle(sends);

      const outcomes = new Map<string, string[]>();
      const caller = callerFor(t.db, null, TEST_SERVICE_TOKEN);
      let cursor = 0;
      const resends: unknown[][] = [];
      async function reporter() {
        while (cursor < sends.length) {
          const size = 1 + Math.floor(rand() * 2000);
          const batch = sends.slice(cursor, cursor + size);
          cursor += size;
          const { results } = await caller.usage.report({ events: batch });
          for (const r of results) outcomes.set(r.id, [...(outcomes.get(r.id) ?? []), r.status]);
          // A lost response: the proxy sends the batch again, now or later.
          if (rand() < 0.15) {
            if (rand() < 0.5) {
              const again = await caller.usage.report({ events: batch });
              expect(again.results.every((r) => r.status === "duplicate")).toBe(true);
            } else resends.push(batch);
          }
        }
      }
      await Promise.all([reporter(), reporter(), reporter(), reporter()]);
      for (const batch of resends) {
        const { results } = await caller.usage.report({ events: batch });
        expect(results.every((r, i) => r.status === "duplicate" && r.costNano === byId.get((batch[i] as UsageEvent).id)!.costNano)).toBe(true);
      }
      // Conflicting versions of settled ids: reported as conflicts, stored, never billed.
      const conflicted = expected.slice(0, 50).map((x) => ({ ...x.event, outputTokens: x.event.outputTokens + 1 }));
      const conflictResults = await caller.usage.report({ events: conflicted });
      expect(conflictResults.results.every((r) => r.status === "conflict")).toBe(true);

      // Every event: settled exactly once (later sends of it were duplicates), at its expected cost.
      for (const x of expected) {
        const statuses = outcomes.get(x.event.id)!;
        expect(statuses.filter((s) => s === "settled")).toHaveLength(1);
        expect(statuses.every((s) => s === "settled" || s === "duplicate")).toBe(true);
      }
      expect((await t.pool.query("select count(*)::int as n from usage_conflicts")).rows[0].n).toBe(50);

      // Ledger totals per buyer, to the nano (per provider and for the platform: the proof below).
      const sum = (xs: Expected[], f: (x: Expected) => bigint) => xs.reduce((s, x) => s + f(x), 0n);
      for (const b of buyers) {
        const own = expected.filter((x) => x.buyer === b);
        const acc = await accountSums(t.db, b.orgId);
        expect(acc.get("buyer_credits")!.debits_posted + (acc.get("buyer_receivable")?.debits_posted ?? 0n)).toBe(sum(own, (x) => x.costNano));
        // Credit is spent before anything is owed, and never past the limit.
        expect(acc.get("buyer_credits")!.debits_posted + acc.get("buyer_credits")!.debits_pending).toBeLessThanOrEqual(b.creditNano + b.creditLimitNano);
      }

      // Every window settled: the proof (./settlement-proof.ts) checks each (buyer, provider) row against its
      // events, the legs into and out of usage_clearing against the rows, clearing netting to zero, rollups,
      // key spend and reservations against the events, and the ledger's invariants.
      const pairs = await t.pool.query("select count(*)::int as n from usage_settlements");
      expect(pairs.rows[0].n).toBeGreaterThan(0);
      await expectEverythingSettledOnce(
        t.db,
        t.pool,
        expected.map((x) => ({ id: x.event.id, buyerOrgId: x.buyer.orgId, providerOrgId: x.listing.providerOrgId, costNano: x.costNano, feeNano: x.feeNano })),
      );

      // Spend counters and rollups match the events.
      const spendByKeyDay = new Map<string, bigint>();
      for (const x of expected) {
        const k = `${x.event.keyId}|${x.event.startedAt.toISOString().slice(0, 10)}`;
        spendByKeyDay.set(k, (spendByKeyDay.get(k) ?? 0n) + x.costNano);
      }
      const spend = await t.pool.query<{ key_id: string; day: string; spend_nano: bigint }>(
        "select key_id, to_char(day, 'YYYY-MM-DD') as day, spend_nano from key_spend_daily",
      );
      expect(new Map(spend.rows.map((r) => [`${r.key_id}|${r.day}`, r.spend_nano]))).toEqual(spendByKeyDay);
      const rollups = await t.pool.query(
        "select sum(requests)::int8 as requests, sum(cost_nano)::int8 as cost, sum(input_tokens)::int8 as input from usage_hourly",
      );
      expect(rollups.rows[0]).toEqual({
        requests: BigInt(N),
        cost: sum(expected, (x) => x.costNano),
        input: BigInt(expected.reduce((s, x) => s + x.event.inputTokens, 0)),
      });

      const consumed = await t.pool.query("select sum(consumed_nano)::int8 as c from reservations");
      expect(consumed.rows[0].c).toBeGreaterThan(0n);
    },
    60 * 60 * 1000,
  );
});
