import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionUser } from "../api/trpc";
import { usageCostNano } from "../ledger/money";
import { createTestDb, type TestDb } from "../testing/db";
import { addMember, callerFor, makeUser, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import type { UsageEvent } from "../usage/contract";
import { makeBuyer, makeEvent, makeListing, makeProvider, type WorldBuyer, type WorldListing } from "../usage/testing";

/**
 * Days in the viewer's time zone are exact in every zone, including those whose midnight
 * falls inside a UTC hour (the rollups are UTC hours): events a minute either side of local
 * midnights land on their own day in the overview, the daily chart, energy and earnings.
 * Expected figures are computed here from the events themselves with Intl's calendar.
 */

const MIN = 60_000;
const ZONES = ["Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns", "Europe/Paris", "UTC"] as const;
const DAYS = 5;
const pricesA = { inputPer1kNano: 150_000n, outputPer1kNano: 600_000n, cachedInputPer1kNano: 75_000n };
const pricesB = { inputPer1kNano: 20_000n, outputPer1kNano: 40_000n, cachedInputPer1kNano: 10_000n };

let t: TestDb;
let buyerUser: SessionUser, providerUser: SessionUser;
let a: WorldListing, b: WorldListing;
let buyer: WorldBuyer;
const settled: UsageEvent[] = [];
const now = new Date();

const localDate = (tz: string, d: Date) => new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" }).format(d);
/** The `days` local dates ending today, oldest first (what a `days`-day period covers). */
function window(tz: string, days: number): string[] {
  const [y, m, d] = localDate(tz, now).split("-").map(Number) as [number, number, number];
  return Array.from({ length: days }, (_, i) => new Date(Date.UTC(y, m - 1, d - (days - 1 - i))).toISOString().slice(0, 10));
}
/** The instant of local midnight starting `date` in `tz` (found by stepping the UTC guess by the zone's offset). */
function midnight(tz: string, date: string): Date {
  let guess = new Date(`${date}T00:00:00Z`);
  for (let i = 0; i < 3; i++) {
    const shown = new Date(
      new Intl.DateTimeFormat("sv-SE", {
        timeZone: tz,
        hourCycle: "h23",
        year: "numeric",
        month: "2-digit",
        day: "2-digit",
        hour: "2-digit",
        minute: "2-digit",
        second: "2-digit",
      })
        .format(guess)
        .replace(" ", "T") + "Z",
    );
    guess = new Date(guess.getTime() - (shown.getTime() - new Date(`${date}T00:00:00Z`).getTime()));
  }
  return guess;
}
const costOf = (e: UsageEvent) =>
  usageCostNano({ input: e.inputTokens, output: e.outputTokens, cachedInput: e.cachedInputTokens }, e.listingId === a.id ? pricesA : pricesB);
const tokensOf = (e: UsageEvent) => e.inputTokens + e.outputTokens + e.cachedInputTokens;
const sum = <T>(xs: readonly T[], f: (x: T) => bigint) => xs.reduce((s, x) => s + f(x), 0n);

beforeAll(async () => {
  t = await createTestDb();
  buyerUser = await makeUser(t.db, "tz-buyer");
  providerUser = await makeUser(t.db, "tz-provider");
  const provider = await makeProvider(t.db, "tz-provider");
  await addMember(t.db, provider.id, providerUser, "owner");
  const since = new Date(now.getTime() - 30 * 24 * 3600_000);
  a = await makeListing(t.db, provider, [{ effectiveFrom: since, ...pricesA }]);
  b = await makeListing(t.db, provider, [{ effectiveFrom: since, ...pricesB }]);
  buyer = await makeBuyer(t.db, { creditNano: 50_000_000_000n, keys: 2 });
  await addMember(t.db, buyer.orgId, buyerUser, "owner");

  // A minute and ten minutes either side of each recent local midnight of the odd-offset zones,
  // and one event every 97 minutes over the whole period; all finished a minute before now.
  const times: Date[] = [];
  for (const tz of ["Asia/Kolkata", "Asia/Kathmandu", "America/St_Johns"]) {
    for (const date of window(tz, DAYS + 1)) {
      const m = midnight(tz, date).getTime();
      for (const offset of [-10, -1, 1, 10]) times.push(new Date(m + offset * MIN));
    }
  }
  for (let at = now.getTime() - (DAYS + 1) * 24 * 3600_000; at < now.getTime(); at += 97 * MIN) times.push(new Date(at));
  const events = times
    .filter((at) => at.getTime() < now.getTime() - 2 * MIN)
    .map((startedAt, i) =>
      makeEvent({
        keyId: buyer.keyIds[i % 2]!,
        listingId: i % 3 === 0 ? b.id : a.id,
        startedAt,
        inputTokens: 100 + i * 7,
        outputTokens: 50 + (i % 11) * 13,
        cachedInputTokens: i % 4 === 0 ? 32 : 0,
        status: i % 9 === 4 ? "error" : "ok",
      }),
    );
  const platform = callerFor(t.db, null, TEST_SERVICE_TOKEN);
  for (let i = 0; i < events.length; i += 100) {
    const batch = events.slice(i, i + 100);
    const { results } = await platform.usage.report({ events: batch });
    results.forEach((r, j) => {
      expect(r.status, r.reason ?? "").toBe("settled");
      settled.push(batch[j]!);
    });
  }
});
afterAll(() => t.close());

describe.each(ZONES)("days in %s", (tz) => {
  const inWindow = () => {
    const dates = new Set(window(tz, DAYS));
    return settled.filter((e) => dates.has(localDate(tz, e.startedAt)));
  };

  it("the daily chart puts each event on its local day, per listing and per key", async () => {
    for (const groupBy of ["listing", "key"] as const) {
      const s = await callerFor(t.db, buyerUser).dashboards.series({ tz, granularity: "day", days: DAYS, groupBy });
      const got = new Map<string, { cost: bigint; requests: number }>();
      for (const p of s.points) {
        expect(p.bucket.getTime()).toBe(midnight(tz, localDate(tz, p.bucket)).getTime());
        got.set(`${localDate(tz, p.bucket)} ${p.groupId}`, { cost: p.costNano, requests: p.requests });
      }
      const want = new Map<string, { cost: bigint; requests: number }>();
      for (const e of inWindow()) {
        const k = `${localDate(tz, e.startedAt)} ${groupBy === "listing" ? e.listingId : e.keyId}`;
        const w = want.get(k) ?? { cost: 0n, requests: 0 };
        want.set(k, { cost: w.cost + costOf(e), requests: w.requests + 1 });
      }
      expect(got).toEqual(want);
    }
  });

  it("the overview's today and this month are local", async () => {
    const o = await callerFor(t.db, buyerUser).dashboards.overview({ tz });
    const today = localDate(tz, now);
    const todays = settled.filter((e) => localDate(tz, e.startedAt) === today);
    const months = settled.filter((e) => localDate(tz, e.startedAt).slice(0, 7) === today.slice(0, 7));
    expect(o.spendTodayNano).toBe(sum(todays, costOf));
    expect(o.requestsToday).toBe(todays.length);
    expect(o.spendMonthNano).toBe(sum(months, costOf));
    expect(o.requestsMonth).toBe(months.length);
    expect(o.tokensMonth).toBe(months.reduce((s, e) => s + tokensOf(e), 0));
  });

  it("energy counts the tokens of the period's local days", async () => {
    const en = await callerFor(t.db, buyerUser).dashboards.energy({ tz, days: DAYS });
    const got = Object.fromEntries(en.listings.map((l) => [l.listingId, l.tokens]));
    const want: Record<string, number> = {};
    for (const e of inWindow()) want[e.listingId] = (want[e.listingId] ?? 0) + tokensOf(e);
    expect(got).toEqual(want);
  });

  it("provider earnings per local day and listing: requests, errors and gross", async () => {
    const earn = await callerFor(t.db, providerUser).dashboards.earnings({ tz, days: DAYS });
    const got = new Map(earn.entries.map((x) => [`${localDate(tz, x.day)} ${x.listingId}`, { gross: x.grossNano, requests: x.requests, errors: x.errors }]));
    const want = new Map<string, { gross: bigint; requests: number; errors: number }>();
    for (const e of inWindow()) {
      const k = `${localDate(tz, e.startedAt)} ${e.listingId}`;
      const w = want.get(k) ?? { gross: 0n, requests: 0, errors: 0 };
      want.set(k, { gross: w.gross + costOf(e), requests: w.requests + 1, errors: w.errors + (e.status === "ok" ? 0 : 1) });
    }
    expect(got).toEqual(want);
    expect(earn.totals.netNano + earn.totals.feeNano).toBe(earn.totals.grossNano);
  });

  it("hourly chart bars are whole UTC hours, shown in local time", async () => {
    const s = await callerFor(t.db, buyerUser).dashboards.series({ tz, granularity: "hour", days: 2, groupBy: "listing" });
    expect(s.points.length).toBeGreaterThan(0);
    for (const p of s.points) expect(p.bucket.getTime() % 3_600_000).toBe(0);
    const from = Math.floor(now.getTime() / 3_600_000) * 3_600_000 - 47 * 3_600_000;
    expect(sum(s.points, (p) => p.costNano)).toBe(
      sum(
        settled.filter((e) => e.startedAt.getTime() >= from),
        costOf,
      ),
    );
  });
});

describe("late parts of rollup rows written before they existed", () => {
  it("migration 0015's backfill computes from the events exactly what settlement writes", async () => {
    const snapshot = async () =>
      (
        await t.pool.query(`select (select json_agg(o order by o.org_id, o.dimension, o.hour, o.group_id) from org_usage_hourly o) as org,
                                   (select json_agg(l order by l.listing_id, l.hour) from listing_hourly l) as listing`)
      ).rows[0];
    const written = await snapshot();
    expect(JSON.stringify(written)).toMatch(/"cost_nano_after15":[1-9]/);
    expect(JSON.stringify(written)).toMatch(/"cost_nano_after30":[1-9]/);
    const columns = (table: string) => `select string_agg(format('%I = 0', column_name), ', ') as set from information_schema.columns
                                         where table_name = '${table}' and column_name ~ '_after(15|30)$'`;
    for (const table of ["org_usage_hourly", "listing_hourly"]) {
      const { set } = (await t.pool.query(columns(table))).rows[0] as { set: string };
      await t.pool.query(`update ${table} set ${set}`);
    }
    expect(await snapshot()).not.toEqual(written);
    await t.pool.query("select tm_backfill_rollup_late_parts()");
    expect(await snapshot()).toEqual(written);
  });
});
