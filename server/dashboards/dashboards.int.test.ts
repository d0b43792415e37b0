import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listings } from "../../db/schema";
import type { SessionUser } from "../api/trpc";
import { MIN_MEASURED_SAMPLE } from "../catalog/sample";
import { routingTable } from "../catalog/routing";
import { listMarketplace } from "../catalog/marketplace";
import { uuidv7 } from "../lib/ids";
import { parseUsd, usageCostNano } from "../ledger/money";
import { ensureAccount, postTransfers } from "../ledger/service";
import { createTestDb, type TestDb } from "../testing/db";
import { addMember, callerFor, makeOrg, makeUser, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import type { UsageEvent } from "../usage/contract";
import { makeBuyer, makeEvent, makeListing, type WorldBuyer, type WorldListing } from "../usage/testing";
import { bucketOf, bucketValue, medianBucket } from "../rollups/histogram";
import { usageEnergy } from "./rules";
import { activityCsv, CSV_HEADER } from "./activity";

/**
 * Seeds activity through `usage.report` (real settlement, real ledger) and checks every
 * dashboard figure against the ledger's sums and the events the test itself reported.
 */

const MIN = 60_000;
const prices = { inputPer1kNano: 150_000n, outputPer1kNano: 600_000n, cachedInputPer1kNano: 75_000n };
const cheap = { inputPer1kNano: 20_000n, outputPer1kNano: 40_000n, cachedInputPer1kNano: 10_000n };

let t: TestDb;
let providerUser: SessionUser, buyerUser: SessionUser, buyerFinance: SessionUser;
let providerOrgId: string;
let provider: { id: string; slug: string };
let fast: WorldListing, slow: WorldListing;
let buyer: WorldBuyer, other: WorldBuyer;
const settled: UsageEvent[] = [];
const otherSettled: UsageEvent[] = [];
const now = new Date();

const costOf = (e: UsageEvent, l: WorldListing) =>
  usageCostNano({ input: e.inputTokens, output: e.outputTokens, cachedInput: e.cachedInputTokens }, l.id === fast.id ? prices : cheap);
const listingOf = (e: UsageEvent) => (e.listingId === fast.id ? fast : slow);
const sum = <T>(xs: readonly T[], f: (x: T) => bigint) => xs.reduce((s, x) => s + f(x), 0n);
const utcDayStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
const utcMonthStart = (d: Date) => new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1));

async function ledgerSum(where: ReturnType<typeof sql>) {
  const { rows } = await t.db.execute<{ s: bigint }>(sql`select coalesce(sum(amount_nano), 0)::int8 as s from ledger_transfers where ${where}`);
  return rows[0]!.s;
}

beforeAll(async () => {
  t = await createTestDb();
  providerUser = await makeUser(t.db, "provider");
  buyerUser = await makeUser(t.db, "buyer");
  buyerFinance = await makeUser(t.db, "buyerfin");
  const providerOrg = await makeOrg(t.db, providerUser);
  providerOrgId = providerOrg.id;
  provider = { id: providerOrg.id, slug: providerOrg.slug };
  const since = new Date(now.getTime() - 30 * 24 * 3600_000);
  fast = await makeListing(t.db, provider, [{ effectiveFrom: since, ...prices }]);
  slow = await makeListing(t.db, provider, [{ effectiveFrom: since, ...cheap }]);
  await t.db.update(listings).set({ tokensPerWatt: 4, gridCarbonGPerKwh: 300 }).where(eq(listings.id, fast.id));

  buyer = await makeBuyer(t.db, { creditNano: 5_000_000_000n, keys: 2 });
  await addMember(t.db, buyer.orgId, buyerUser, "owner");
  await addMember(t.db, buyer.orgId, buyerFinance, "finance");
  other = await makeBuyer(t.db, { creditNano: 1_000_000_000n, keys: 1 });

  // 40 events over the last ~3 hours: both keys, both listings, some errors and estimates, varied speed.
  const events: UsageEvent[] = [];
  for (let i = 0; i < 40; i++) {
    const startedAt = new Date(now.getTime() - (5 + i * 4.5) * MIN);
    const isFast = i % 3 !== 0;
    const ttft = isFast ? 80 + (i % 5) * 10 : 400 + (i % 7) * 50;
    const output = 100 + (i % 9) * 40;
    const genMs = isFast ? output * 5 : output * 25; // ~200 tok/s vs ~40 tok/s
    events.push(
      makeEvent({
        keyId: buyer.keyIds[i % 2]!,
        listingId: isFast ? fast.id : slow.id,
        startedAt,
        firstTokenAt: new Date(startedAt.getTime() + ttft),
        endedAt: new Date(startedAt.getTime() + ttft + genMs),
        inputTokens: 200 + i * 13,
        outputTokens: output,
        cachedInputTokens: i % 4 === 0 ? 64 : 0,
        status: i % 11 === 5 ? "error" : i % 13 === 7 ? "aborted" : "ok",
        estimated: i % 6 === 0,
      }),
    );
  }
  const otherEvents = [0, 1, 2].map((i) => makeEvent({ keyId: other.keyIds[0]!, listingId: fast.id, startedAt: new Date(now.getTime() - (10 + i) * MIN) }));
  const platform = callerFor(t.db, null, TEST_SERVICE_TOKEN);
  // Two batches, the second resent: resends must not count twice anywhere.
  for (const batch of [events.slice(0, 25), [...events.slice(25), ...otherEvents], events.slice(25)]) {
    const { results } = await platform.usage.report({ events: batch });
    results.forEach((r, i) => {
      if (r.status !== "settled") return;
      const e = batch[i]!;
      (e.keyId === other.keyIds[0] ? otherSettled : settled).push(e);
    });
  }
  expect(settled).toHaveLength(40);
  expect(otherSettled).toHaveLength(3);

  // A payout the finance console would record: provider_payable → payouts.
  await t.db.transaction(async (tx) => {
    const payable = await ensureAccount(tx, { orgId: providerOrgId, kind: "provider_payable" });
    const payouts = await ensureAccount(tx, { orgId: null, kind: "payouts" });
    await postTransfers(tx, {
      transfers: [
        {
          id: uuidv7(),
          debitAccountId: payable.id,
          creditAccountId: payouts.id,
          amountNano: 1_000_000n,
          code: "payout",
          ref: { kind: "payout", id: "po_test_1" },
        },
      ],
    });
  });
});
afterAll(() => t.close());

const asBuyer = () => callerFor(t.db, buyerUser);
const asProvider = () => callerFor(t.db, providerUser);

describe("buyer dashboard", () => {
  it("overview: balance, spend today and this month, burn rate and days left equal the ledger and the events", async () => {
    const o = await callerFor(t.db, buyerFinance).dashboards.overview({ tz: "UTC" });
    const accounts = sql`(select id from ledger_accounts where org_id = ${buyer.orgId}::uuid and kind in ('buyer_credits', 'buyer_receivable'))`;
    const usageDebits = await ledgerSum(sql`code = 'usage' and debit_account_id in ${accounts}`);
    expect(usageDebits).toBe(sum(settled, (e) => costOf(e, listingOf(e))));
    expect(o.availableNano).toBe(buyer.creditNano - usageDebits);

    const today = settled.filter((e) => e.startedAt >= utcDayStart(now));
    const month = settled.filter((e) => e.startedAt >= utcMonthStart(now));
    expect(o.spendTodayNano).toBe(sum(today, (e) => costOf(e, listingOf(e))));
    expect(o.requestsToday).toBe(today.length);
    expect(o.spendMonthNano).toBe(sum(month, (e) => costOf(e, listingOf(e))));
    expect(o.requestsMonth).toBe(month.length);
    expect(o.tokensMonth).toBe(month.reduce((s, e) => s + e.inputTokens + e.outputTokens + e.cachedInputTokens, 0));
    // Every event is within the last 7 days, so the burn rate is the whole ledger spend / 7.
    const burn = usageDebits / 7n + ((usageDebits % 7n) * 2n > 7n || ((usageDebits % 7n) * 2n === 7n && (usageDebits / 7n) % 2n === 1n) ? 1n : 0n);
    expect(o.burnPerDayNano).toBe(burn);
    expect(o.daysLeft).toBe(Number((o.availableNano * 10n) / burn) / 10);
  });

  it("chart series by key and by listing add up to the ledger and the events; other buyers are not in them", async () => {
    const byKey = await asBuyer().dashboards.series({ tz: "UTC", granularity: "hour", days: 2, groupBy: "key" });
    const byListing = await asBuyer().dashboards.series({ tz: "Europe/Paris", granularity: "day", days: 2, groupBy: "listing" });
    for (const s of [byKey, byListing]) {
      expect(sum(s.points, (p) => p.costNano)).toBe(sum(settled, (e) => costOf(e, listingOf(e))));
      expect(s.points.reduce((a, p) => a + p.requests, 0)).toBe(settled.length);
    }
    for (const key of buyer.keyIds) {
      const mine = settled.filter((e) => e.keyId === key);
      const pts = byKey.points.filter((p) => p.groupId === key);
      expect(sum(pts, (p) => p.costNano)).toBe(sum(mine, (e) => costOf(e, listingOf(e))));
      expect(pts.reduce((a, p) => a + p.outputTokens, 0)).toBe(mine.reduce((a, e) => a + e.outputTokens, 0));
    }
    const hourOf = (d: Date) => new Date(Math.floor(d.getTime() / 3600_000) * 3600_000).getTime();
    for (const p of byKey.points) {
      const inHour = settled.filter((e) => e.keyId === p.groupId && hourOf(e.startedAt) === p.bucket.getTime());
      expect(p.requests).toBe(inHour.length);
    }
    expect(byListing.groups.map((g) => g.id).sort()).toEqual([fast.id, slow.id].sort());
    expect(byKey.groups.map((g) => g.id)).not.toContain(other.keyIds[0]);
  });

  it("activity log: keyset pages cover every event once, newest first, with filters and totals", async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let last = Infinity;
    do {
      const page = await asBuyer().dashboards.activity({ filter: {}, cursor, limit: 7 });
      for (const r of page.rows) {
        expect(r.startedAt.getTime()).toBeLessThanOrEqual(last);
        last = r.startedAt.getTime();
        seen.push(r.id);
        const e = settled.find((x) => x.id === r.id)!;
        expect(r.costNano).toBe(costOf(e, listingOf(e)));
        expect([r.inputTokens, r.outputTokens, r.cachedInputTokens, r.status, r.estimated]).toEqual([
          e.inputTokens,
          e.outputTokens,
          e.cachedInputTokens,
          e.status,
          e.estimated,
        ]);
        expect(r.ttftMs).toBe(e.firstTokenAt!.getTime() - e.startedAt.getTime());
        expect(r.latencyMs).toBe(e.endedAt.getTime() - e.startedAt.getTime());
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    expect(seen.sort()).toEqual(settled.map((e) => e.id).sort());

    const filter = { keyId: buyer.keyIds[0]!, status: "ok" as const, from: new Date(now.getTime() - 120 * MIN) };
    const expected = settled.filter((e) => e.keyId === filter.keyId && e.status === "ok" && e.startedAt >= filter.from);
    const page = await asBuyer().dashboards.activity({ filter, limit: 200 });
    expect(page.rows.map((r) => r.id).sort()).toEqual(expected.map((e) => e.id).sort());
    const totals = await asBuyer().dashboards.activityTotals({ filter });
    expect(totals.requests).toBe(expected.length);
    expect(totals.costNano).toBe(sum(expected, (e) => costOf(e, listingOf(e))));
    await expect(asBuyer().dashboards.activity({ filter: {}, cursor: "garbage", limit: 5 })).rejects.toThrow(/cursor/);
  });

  it("CSV export has exactly the rows and totals of the filtered log", async () => {
    const filter = { listingId: fast.id, from: new Date(now.getTime() - 150 * MIN) };
    const totals = await asBuyer().dashboards.activityTotals({ filter });
    const lines: string[] = [];
    for await (const line of activityCsv(t.db, { orgId: buyer.orgId, filter })) lines.push(line);
    expect(lines[0]).toBe(`${CSV_HEADER.join(",")}\r\n`);
    const rows = lines.slice(1).map((l) => l.trimEnd().split(","));
    expect(rows).toHaveLength(totals.requests);
    const col = (name: (typeof CSV_HEADER)[number]) => CSV_HEADER.indexOf(name);
    expect(rows.reduce((s, r) => s + parseUsd(r[col("cost_usd")]!), 0n)).toBe(totals.costNano);
    expect(rows.reduce((s, r) => s + Number(r[col("output_tokens")]), 0)).toBe(totals.outputTokens);
    const expected = settled.filter((e) => e.listingId === fast.id && e.startedAt >= filter.from);
    expect(rows.map((r) => r[col("request_id")]).sort()).toEqual(expected.map((e) => e.id).sort());
  });

  it("energy by listing from declared tokens per watt and grid carbon; undeclared tokens reported apart", async () => {
    const e = await asBuyer().dashboards.energy({ tz: "UTC", days: 2 });
    const tokens = (l: WorldListing) =>
      settled.filter((x) => x.listingId === l.id).reduce((s, x) => s + x.inputTokens + x.outputTokens + x.cachedInputTokens, 0);
    const want = usageEnergy(tokens(fast), 4, 300);
    const row = e.listings.find((l) => l.listingId === fast.id)!;
    expect(row.tokens).toBe(tokens(fast));
    expect(row.wh).toBeCloseTo(want.wh!, 9);
    expect(row.gCo2).toBeCloseTo(want.gCo2!, 9);
    expect(e.totalWh).toBeCloseTo(want.wh!, 9);
    expect(e.undeclaredTokens).toBe(tokens(slow));
  });

  it("per-key spend against its limit equals the key's events this month", async () => {
    const keys = await asBuyer().dashboards.keySpend();
    for (const key of buyer.keyIds) {
      const mine = settled.filter((e) => e.keyId === key && e.startedAt >= utcMonthStart(now));
      expect(keys.find((k) => k.id === key)!.periodSpendNano).toBe(sum(mine, (e) => costOf(e, listingOf(e))));
    }
  });
});

describe("provider dashboard", () => {
  it("earnings: gross, fee and net equal the settlements and the ledger; requests and tokens equal the events", async () => {
    const all = [...settled, ...otherSettled];
    const { rows } = await t.db.execute<{ cost: bigint; fee: bigint; events: bigint }>(
      sql`select sum(cost_nano)::int8 as cost, sum(fee_nano)::int8 as fee, sum(events)::int8 as events from usage_settlements where provider_org_id = ${providerOrgId}::uuid`,
    );
    // The settlement windows the provider's usage was settled in (usage_settlements.batch_id), and their legs out of usage_clearing.
    const windows = sql`(select batch_id::text from usage_settlements where provider_org_id = ${providerOrgId}::uuid)`;
    const clearing = sql`(select id from ledger_accounts where org_id is null and kind = 'usage_clearing')`;
    const payable = sql`(select id from ledger_accounts where org_id = ${providerOrgId}::uuid and kind = 'provider_payable')`;
    const revenue = sql`(select id from ledger_accounts where org_id is null and kind = 'platform_revenue')`;
    const outOfClearing = sql`code = 'usage' and ref_kind = 'usage_window' and ref_id in ${windows} and debit_account_id in ${clearing}`;
    const net = await ledgerSum(sql`${outOfClearing} and credit_account_id in ${payable}`);
    // The only provider here, so every fee leg of its windows is its own.
    const fee = await ledgerSum(sql`${outOfClearing} and credit_account_id in ${revenue}`);

    const earnings = await asProvider().dashboards.earnings({ tz: "UTC", days: 2 });
    expect(earnings.totals.grossNano).toBe(rows[0]!.cost);
    expect(earnings.totals.grossNano).toBe(sum(all, (e) => costOf(e, listingOf(e))));
    expect(earnings.totals.feeNano).toBe(rows[0]!.fee);
    expect(earnings.totals.feeNano).toBe(fee);
    expect(earnings.totals.netNano).toBe(net);
    expect(earnings.totals.requests).toBe(all.length);
    expect(earnings.totals.requests).toBe(Number(rows[0]!.events));
    expect(earnings.totals.tokens).toBe(all.reduce((s, e) => s + e.inputTokens + e.outputTokens + e.cachedInputTokens, 0));
    for (const l of [fast, slow]) {
      const mine = all.filter((e) => e.listingId === l.id);
      const row = earnings.byListing.find((b) => b.listingId === l.id)!;
      expect(row.grossNano).toBe(sum(mine, (e) => costOf(e, l)));
      expect(row.requests).toBe(mine.length);
      expect(row.netNano + row.feeNano).toBe(row.grossNano);
    }
    // A buyer sees nothing of this as a provider.
    expect((await asBuyer().dashboards.earnings({ tz: "UTC", days: 2 })).totals.requests).toBe(0);
  });

  it("performance: medians from the histograms, error rate and mean time to first token equal the events", async () => {
    const perf = await asProvider().dashboards.performance({ tz: "UTC", days: 1 });
    for (const l of [fast, slow]) {
      const mine = [...settled, ...otherSettled].filter((e) => e.listingId === l.id);
      const ok = mine.filter((e) => e.status === "ok");
      const hist = (vals: number[]) => {
        const m = new Map<number, number>();
        for (const v of vals) m.set(bucketOf(v), (m.get(bucketOf(v)) ?? 0) + 1);
        return bucketValue(medianBucket(m)!);
      };
      const row = perf.listings.find((r) => r.listingId === l.id)!;
      expect(row.requests).toBe(mine.length);
      expect(row.errorRate).toBeCloseTo(mine.filter((e) => e.status !== "ok").length / mine.length, 12);
      expect(row.medianTtftMs).toBeCloseTo(hist(ok.map((e) => e.firstTokenAt!.getTime() - e.startedAt.getTime())), 9);
      expect(row.medianOutputTokensPerSecond).toBeCloseTo(hist(ok.map((e) => e.outputTokens / ((e.endedAt.getTime() - e.firstTokenAt!.getTime()) / 1000))), 9);
      const ttfts = mine.map((e) => e.firstTokenAt!.getTime() - e.startedAt.getTime());
      expect(row.meanTtftMs).toBeCloseTo(ttfts.reduce((a, b) => a + b, 0) / ttfts.length, 9);
    }
  });

  it("payable balance and payouts received come from the ledger", async () => {
    const p = await asProvider().dashboards.payouts();
    const net = await ledgerSum(
      sql`code = 'usage' and credit_account_id in (select id from ledger_accounts where org_id = ${providerOrgId}::uuid and kind = 'provider_payable')`,
    );
    expect(p.earnedNano).toBe(net);
    expect(p.paidOutNano).toBe(1_000_000n);
    expect(p.payableNano).toBe(net - 1_000_000n);
    expect(p.payouts.map((x) => [x.amountNano, x.reference])).toEqual([[1_000_000n, "po_test_1"]]);
  });
});

describe("measured marketplace figures", () => {
  it("the marketplace shows and sorts by measured throughput and time to first token; routing carries them", async () => {
    const byThroughput = await listMarketplace(t.db, { family: "test-family", sort: "throughput" });
    const ids = byThroughput.items.map((i) => i.id);
    expect(ids.indexOf(fast.id)).toBeLessThan(ids.indexOf(slow.id));
    const byTtft = await listMarketplace(t.db, { family: "test-family", sort: "ttft" });
    expect(byTtft.items.map((i) => i.id).indexOf(fast.id)).toBeLessThan(byTtft.items.map((i) => i.id).indexOf(slow.id));
    const f = byThroughput.items.find((i) => i.id === fast.id)!;
    const s = byThroughput.items.find((i) => i.id === slow.id)!;
    expect(f.measured!.medianOutputTokensPerSecond!).toBeGreaterThan(150);
    expect(s.measured!.medianOutputTokensPerSecond!).toBeLessThan(50);
    const mine = [...settled, ...otherSettled].filter((e) => e.listingId === slow.id);
    expect(s.measured!.requests).toBe(mine.length);
    expect(s.measured!.successRate).toBeCloseTo(mine.filter((e) => e.status === "ok").length / mine.length, 12);

    const routing = (await routingTable(t.db, { service: { kind: "platform" }, key: Buffer.alloc(32) })).listings;
    expect(routing.find((r) => r.listingId === fast.id)!.measured).toEqual(f.measured);
    const detail = await callerFor(t.db, null).catalog.listing({ slug: fast.slug });
    expect(detail.measured).toEqual(f.measured);
  });
});

describe("measured figures below the minimum sample", () => {
  it("one 7 ms call is shown with its sample but no median, is not sorted by and is not routed on", async () => {
    const lucky = await makeListing(t.db, provider, [{ effectiveFrom: new Date(now.getTime() - 3600_000), ...prices }]);
    const startedAt = new Date(now.getTime() - 2 * MIN);
    const event = makeEvent({
      keyId: buyer.keyIds[0]!,
      listingId: lucky.id,
      startedAt,
      firstTokenAt: new Date(startedAt.getTime() + 1),
      endedAt: new Date(startedAt.getTime() + 7),
      outputTokens: 9_000,
    });
    expect((await callerFor(t.db, null, TEST_SERVICE_TOKEN).usage.report({ events: [event] })).results[0]!.status).toBe("settled");

    const page = await listMarketplace(t.db, { family: "test-family", sort: "throughput" });
    expect(page.items.at(-1)!.id).toBe(lucky.id);
    expect(page.items.at(-1)!.measured).toEqual({
      requests: 1,
      successRate: null,
      medianOutputTokensPerSecond: null,
      tpsSample: 1,
      medianTtftMs: null,
      ttftSample: 1,
    });
    expect(page.items.find((i) => i.id === fast.id)!.measured!.tpsSample).toBeGreaterThanOrEqual(MIN_MEASURED_SAMPLE);
    const routing = (await routingTable(t.db, { service: { kind: "platform" }, key: Buffer.alloc(32) })).listings;
    expect(routing.find((r) => r.listingId === lucky.id)!.measured!.medianOutputTokensPerSecond).toBeNull();
  });
});

describe("tm_hist_bucket", () => {
  it("agrees with bucketOf on edges and 10 000 random values", async () => {
    const values = [0, 0.0005, 0.001, 1, Math.exp(1 / 20), 2.5, 1000, 86_400_000];
    for (let i = 0; i < 10_000; i++) values.push(Math.exp(Math.random() * 20 - 5));
    const { rows } = await t.db.execute<{ b: number }>(
      sql`select tm_hist_bucket(v)::int as b from unnest(${`{${values.join(",")}}`}::float8[]) with ordinality as u(v, n) order by n`,
    );
    expect(rows.map((r) => r.b)).toEqual(values.map(bucketOf));
  });
});
