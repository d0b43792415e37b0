import fs from "node:fs";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo, seedDemoCredits, seedDemoKey } from "../../db/seed";
import { seedDemoTraffic } from "../../db/seed-traffic";
import { compareFamily, listingDetail, listMarketplace } from "../catalog/marketplace";
import { MIN_MEASURED_SAMPLE } from "../catalog/sample";
import { catalogEncryptionKey, keyPepper } from "../env";
import { monthOf } from "../finance/period";
import { divRoundHalfEven } from "../ledger/money";
import { bucketOf, bucketValue, medianBucket } from "../rollups/histogram";
import { createTestDb, type TestDb } from "../testing/db";
import { TEST_LOCAL_WEBHOOK_SECRET } from "../testing/fixtures";
import { MIN_CPUT_REQUESTS } from "./cput";
import { energyStatement } from "./statement";
import { buyerCputByListing, listingCput, listingEnergy, providerCputByListing } from "./store";
import { economyAsOf, refreshListingEconomy, refreshListingEconomyIfStale } from "./summary";
import { ECONOMY_WINDOWS, economyWindows } from "./windows";

/**
 * The demo's traffic history through real settlement, and every token-economy figure read from
 * the rollups equal to the same figure computed here from raw usage events.
 */

let t: TestDb;
let seedMs = 0;
let events = 0;
const now = new Date();

beforeAll(async () => {
  t = await createTestDb();
  await seedDemo(t.db, { upstreamUrl: "http://127.0.0.1:9/v1", encryptionKey: catalogEncryptionKey() });
  await seedDemoKey(t.db, keyPepper());
  await seedDemoCredits(t.db, TEST_LOCAL_WEBHOOK_SECRET);
  const started = performance.now();
  events = await seedDemoTraffic(t.db, { feeBps: 500, now });
  seedMs = performance.now() - started;
  // What the worker does every ECONOMY_REFRESH_SECONDS: the pages read this summary.
  await refreshListingEconomy(t.db, now);
}, 120_000);

afterAll(async () => {
  await t?.close();
});

const useful = "status = 'ok' and coalesce(finish_reason, 'unknown') in ('stop', 'tool_calls', 'unknown')";

describe("the demo's traffic history", () => {
  it("is settled once, quickly, and a second seeding adds nothing", async () => {
    expect(events).toBeGreaterThan(2000);
    // ~3 s for ~2 800 events on a busy 2-core machine; it runs at every `npm start` on an empty database.
    expect(seedMs).toBeLessThan(30_000);
    const { rows } = await t.db.execute<{ n: number }>(sql`select count(*)::int as n from usage_events`);
    expect(rows[0]!.n).toBe(events);
    expect(await seedDemoTraffic(t.db, { feeBps: 500, now })).toBe(0);
  });

  it("CPUT per listing (7 d) equals billed ÷ useful output tokens of the raw events, past the minimum sample", async () => {
    const from = new Date(now.getTime() - 7 * 86_400_000);
    from.setUTCMinutes(0, 0, 0);
    const fromHour = new Date(from.getTime() + 3600_000);
    const { rows } = await t.db.execute<{ listing_id: string; requests: number; billed: string; useful: string }>(sql`
      select listing_id, count(*)::int as requests, sum(cost_nano)::text as billed,
             coalesce(sum(output_tokens) filter (where ${sql.raw(useful)}), 0)::text as useful
      from usage_events where started_at >= ${fromHour.toISOString()}::timestamptz group by listing_id`);
    const cput = await listingCput(t.db, { window: "7d", now, listingIds: rows.map((r) => r.listing_id) });
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const r of rows) {
      expect(r.requests).toBeGreaterThanOrEqual(MIN_CPUT_REQUESTS);
      const c = cput.get(r.listing_id)!;
      if (c.state !== "measured") throw new Error(`not measured: ${r.listing_id}`);
      expect(c.requests).toBe(r.requests);
      expect(c.per1MNano).toBe(divRoundHalfEven(BigInt(r.billed) * 1_000_000n, BigInt(r.useful)));
    }
  });

  it("the buyer's CPUT by model (30 d) equals its raw events", async () => {
    const rows = await buyerCputByListing(t.db, { orgId: await buyerOrg(), window: "30d", now });
    const { rows: raw } = await t.db.execute<{ slug: string; billed: string; useful: string }>(sql`
      select l.slug, sum(e.cost_nano)::text as billed, coalesce(sum(e.output_tokens) filter (where ${sql.raw(useful.replaceAll("status", "e.status").replace("finish_reason", "e.finish_reason"))}), 0)::text as useful
      from usage_events e join listings l on l.id = e.listing_id group by l.slug order by l.slug`);
    expect(rows.map((r) => r.slug)).toEqual(raw.map((r) => r.slug));
    for (const r of rows) {
      const e = raw.find((x) => x.slug === r.slug)!;
      expect(r.costNano).toBe(BigInt(e.billed));
      expect(r.cput.state === "measured" && r.cput.per1MNano).toBe(divRoundHalfEven(BigInt(e.billed) * 1_000_000n, BigInt(e.useful)));
    }
  });

  it("measured energy: the honest profile is verified, the over-declaring one marked, listings without reports unmeasured", async () => {
    const { rows } = await t.db.execute<{ id: string; slug: string; tokens: number; joules: number }>(sql`
      select l.id, l.slug, coalesce(sum(e.input_tokens + e.output_tokens + e.cached_input_tokens) filter (where e.energy_joules is not null), 0)::float8 as tokens,
             coalesce(sum(e.energy_joules), 0)::float8 as joules
      from listings l left join usage_events e on e.listing_id = l.id group by l.id, l.slug`);
    const energy = await listingEnergy(t.db, { listingIds: rows.map((r) => r.id), now });
    const bySlug = new Map(rows.map((r) => [r.slug, { raw: r, e: energy.get(r.id)! }]));
    for (const { raw, e } of bySlug.values()) {
      expect(e.sampleTokens).toBe(raw.tokens);
      if (raw.joules > 0) expect(e.tokensPerJoule).toBeCloseTo(raw.tokens / raw.joules, 9);
    }
    expect(bySlug.get("second-provider/llama-3.1-8b")!.e.verdict).toBe("verified");
    expect(bySlug.get("second-provider/qwen2.5-7b")!.e.verdict).toBe("over-declared");
    expect(bySlug.get("demo-provider/llama-3.1-8b")!.e.verdict).toBe("not-measured");
  });

  it("the energy statement splits measured from declared per model and key, and its measured Wh are the reported joules / 3600", async () => {
    const s = await energyStatement(t.db, { orgId: await buyerOrg(), month: monthOf(now) });
    const { rows } = await t.db.execute<{ joules: number }>(sql`
      select coalesce(sum(energy_joules), 0)::float8 as joules from usage_events
      where started_at >= ${monthOf(now).startsAt.toISOString()}::timestamptz`);
    const measuredWh = s.lines.filter((l) => l.basis === "measured").reduce((sum, l) => sum + (l.wh ?? 0), 0);
    expect(measuredWh).toBeCloseTo(rows[0]!.joules / 3600, 6);
    expect(s.lines.some((l) => l.basis === "declared")).toBe(true);
  });
});

async function buyerOrg(): Promise<string> {
  return orgId("demo-buyer");
}

async function orgId(slug: string): Promise<string> {
  const { rows } = await t.db.execute<{ id: string }>(sql`select id from organizations where slug = ${slug}`);
  return rows[0]!.id;
}

/** The first hour of a window of `hours` ending now, as the pages read it. */
function windowFrom(hours: number): Date {
  const h = new Date(now);
  h.setUTCMinutes(0, 0, 0);
  return new Date(h.getTime() - (hours - 1) * 3600_000);
}

/** Per listing, CPUT per 1M useful output tokens from raw events since `from` (null below the minimum sample or without useful output). */
async function rawCput(from: Date): Promise<Map<string, { requests: number; per1MNano: bigint | null }>> {
  const { rows } = await t.db.execute<{ listing_id: string; requests: number; billed: string; useful: string }>(sql`
    select listing_id, count(*)::int as requests, sum(cost_nano)::text as billed,
           coalesce(sum(output_tokens) filter (where ${sql.raw(useful)}), 0)::text as useful
    from usage_events where started_at >= ${from.toISOString()}::timestamptz group by listing_id`);
  return new Map(
    rows.map((r) => [
      r.listing_id,
      {
        requests: r.requests,
        per1MNano: r.requests >= MIN_CPUT_REQUESTS && BigInt(r.useful) > 0n ? divRoundHalfEven(BigInt(r.billed) * 1_000_000n, BigInt(r.useful)) : null,
      },
    ]),
  );
}

/** Per listing, its prices in force now, from the raw price rows. */
async function rawPrices(): Promise<Map<string, { input: bigint; output: bigint }>> {
  const { rows } = await t.db.execute<{ listing_id: string; input: string; output: string }>(sql`
    select distinct on (listing_id) listing_id, input_per1k_nano::text as input, output_per1k_nano::text as output
    from listing_prices where effective_from <= ${now.toISOString()}::timestamptz order by listing_id, effective_from desc, created_at desc`);
  return new Map(rows.map((r) => [r.listing_id, { input: BigInt(r.input), output: BigInt(r.output) }]));
}

describe("the marketplace's summary (listing_economy)", () => {
  it.each(economyWindows)("CPUT over %s: every listing's figure and sample equal its raw events, and the CPUT sort orders by them", async (window) => {
    const raw = await rawCput(windowFrom(ECONOMY_WINDOWS[window]));
    const { items, window: shown } = await listMarketplace(t.db, { sort: "cput", window, now });
    expect(shown).toBe(window);
    expect(items.length).toBeGreaterThanOrEqual(4);
    for (const i of items) {
      const want = raw.get(i.id);
      expect(i.economy!.window).toBe(window);
      expect(i.economy!.cput.requests).toBe(want?.requests ?? 0);
      expect(i.economy!.cput.state === "measured" ? i.economy!.cput.per1MNano : null).toBe(want?.per1MNano ?? null);
    }
    const order = items.map((i) => raw.get(i.id)?.per1MNano ?? null);
    const known = order.filter((c): c is bigint => c !== null);
    expect(known.length).toBeGreaterThanOrEqual(window === "24h" ? 1 : 3);
    expect(order.slice(0, known.length)).toEqual([...known].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });

  it("the listing page reads the same summary, per window", async () => {
    const { rows } = await t.db.execute<{ slug: string; id: string }>(sql`select slug, id from listings where slug = 'second-provider/llama-3.1-8b'`);
    for (const window of economyWindows) {
      const page = await listingDetail(t.db, { slug: rows[0]!.slug, window, now });
      const want = (await rawCput(windowFrom(ECONOMY_WINDOWS[window]))).get(rows[0]!.id);
      expect(page.economy.cput.requests).toBe(want?.requests ?? 0);
      expect(page.economy.cput.state === "measured" ? page.economy.cput.per1MNano : null).toBe(want?.per1MNano ?? null);
      expect(page.economyAsOf).toEqual(now);
      // The share of the cost spent on input, from each raw event's tokens at the price version it was billed at.
      const { rows: raw } = await t.db.execute<{ input: number; cached: number; cost: string; pin: string; pcached: string }>(sql`
        select e.input_tokens as input, e.cached_input_tokens as cached, e.cost_nano::text as cost, p.input_per1k_nano::text as pin,
               p.cached_input_per1k_nano::text as pcached
        from usage_events e join listing_prices p on p.id = e.price_id
        where e.listing_id = ${rows[0]!.id}::uuid and e.started_at >= ${windowFrom(ECONOMY_WINDOWS[window]).toISOString()}::timestamptz`);
      let inputCost = 0n;
      let billed = 0n;
      for (const e of raw) {
        const exact = divRoundHalfEven(BigInt(e.input) * BigInt(e.pin) + BigInt(e.cached) * BigInt(e.pcached), 1000n);
        inputCost += exact < BigInt(e.cost) ? exact : BigInt(e.cost);
        billed += BigInt(e.cost);
      }
      if (page.economy.cput.state !== "measured") continue;
      expect(inputCost).toBeGreaterThan(0n);
      expect(page.economy.cput.inputShare).toBe(Number(divRoundHalfEven(inputCost * 1_000_000n, billed)) / 1_000_000);
    }
  });

  it("is rebuilt only once it is older than the refresh period, and a rebuild picks up new traffic", async () => {
    expect(await economyAsOf(t.db)).toEqual(now);
    const later = new Date(now.getTime() + 30_000);
    expect(await refreshListingEconomyIfStale(t.db, { now: later, maxAgeSeconds: 60 })).toBe(false);
    expect(await economyAsOf(t.db)).toEqual(now);
    // A listing whose traffic vanished from the rollups loses its figures at the next rebuild, not before.
    const { rows } = await t.db.execute<{ id: string }>(sql`select listing_id as id from listing_economy where requests > 0 limit 1`);
    const id = rows[0]!.id;
    await t.db
      .transaction(async (tx) => {
        await tx.execute(sql`delete from listing_hourly where listing_id = ${id}::uuid`);
        expect((await listMarketplace(tx, { sort: "cput", now })).items.find((i) => i.id === id)!.economy!.cput.requests).toBeGreaterThan(0);
        const due = new Date(now.getTime() + 61_000);
        expect(await refreshListingEconomyIfStale(tx, { now: due, maxAgeSeconds: 60 })).toBe(true);
        expect((await listMarketplace(tx, { sort: "cput", now })).items.find((i) => i.id === id)!.economy!.cput.requests).toBe(0);
        expect(await economyAsOf(tx)).toEqual(due);
        tx.rollback();
      })
      .catch((err: Error) => {
        if (!/rollback/i.test(err.message)) throw err;
      });
    expect(await economyAsOf(t.db)).toEqual(now);
  });
});

describe("the pages' other token-economy figures equal the raw events", () => {
  it("the family comparison's CPUT and energy columns, and its lowest-CPUT and most-efficient marks", async () => {
    const view = await compareFamily(t.db, { family: "llama-3.1-8b", now });
    expect(view.listings.length).toBeGreaterThanOrEqual(2);
    const cput = await rawCput(windowFrom(7 * 24));
    const { rows } = await t.db.execute<{ id: string; tokens: number; joules: number }>(sql`
      select l.id, coalesce(sum(e.input_tokens + e.output_tokens + e.cached_input_tokens) filter (where e.energy_joules is not null), 0)::float8 as tokens,
             coalesce(sum(e.energy_joules), 0)::float8 as joules
      from listings l left join usage_events e on e.listing_id = l.id where l.family = 'llama-3.1-8b' group by l.id`);
    const energy = new Map(rows.map((r) => [r.id, r]));
    for (const i of view.listings) {
      const want = cput.get(i.id)?.per1MNano ?? null;
      expect(i.economy!.cput.state === "measured" ? i.economy!.cput.per1MNano : null).toBe(want);
      const raw = energy.get(i.id)!;
      expect(i.economy!.energy.sampleTokens).toBe(raw.tokens);
      expect(i.economy!.energy.tokensPerJoule ?? 0).toBeCloseTo(raw.joules > 0 ? raw.tokens / raw.joules : 0, 9);
    }
    const measured = view.listings.filter((i) => cput.get(i.id)?.per1MNano != null);
    expect(measured.length).toBeGreaterThanOrEqual(2);
    const lowest = measured.reduce((a, b) => (cput.get(b.id)!.per1MNano! < cput.get(a.id)!.per1MNano! ? b : a));
    expect(view.lowestCputId).toBe(lowest.id);
    // The honest reporting listing's measured figure beats the other's declaration here.
    expect(view.listings.find((i) => i.id === view.mostEfficientId)!.slug).toBe("second-provider/llama-3.1-8b");
  });

  it("the provider's earnings CPUT section (30 d): each listing's CPUT and nominal price", async () => {
    const org = await orgId("demo-provider");
    const rows = await providerCputByListing(t.db, { orgId: org, window: "30d", now });
    const cput = await rawCput(windowFrom(30 * 24));
    const prices = await rawPrices();
    const { rows: own } = await t.db.execute<{ id: string; slug: string }>(sql`
      select l.id, l.slug from listings l where l.org_id = ${org}::uuid and exists (select 1 from usage_events e where e.listing_id = l.id) order by l.slug`);
    expect(rows.map((r) => r.slug)).toEqual(own.map((r) => r.slug));
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const r of rows) {
      expect(r.cput.requests).toBe(cput.get(r.listingId)!.requests);
      expect(r.cput.state === "measured" ? r.cput.per1MNano : null).toBe(cput.get(r.listingId)!.per1MNano);
      expect(r.nominalPer1MNano).toBe(prices.get(r.listingId)!.output * 1000n);
    }
  });

  it("the marketplace's standard-conversation cost and latency, and its CPUT and standard-cost sorts", async () => {
    const prices = await rawPrices();
    const { rows: events } = await t.db.execute<{ listing_id: string; ttft: number | null; tps: number | null }>(sql`
      select listing_id, extract(epoch from first_token_at - started_at)::float8 * 1000 as ttft,
             case when output_tokens > 0 and ended_at > coalesce(first_token_at, started_at)
                  then output_tokens / extract(epoch from ended_at - coalesce(first_token_at, started_at))::float8 end as tps
      from usage_events where status = 'ok' and started_at >= ${windowFrom(24).toISOString()}::timestamptz`);
    const median = (listingId: string, pick: (e: (typeof events)[number]) => number | null) => {
      const values = events
        .filter((e) => e.listing_id === listingId)
        .map(pick)
        .filter((v): v is number => v !== null);
      const counts = new Map<number, number>();
      for (const v of values) counts.set(bucketOf(v), (counts.get(bucketOf(v)) ?? 0) + 1);
      const b = medianBucket(counts);
      return b === null || values.length < MIN_MEASURED_SAMPLE ? null : bucketValue(b);
    };
    const { items } = await listMarketplace(t.db, { sort: "standardCost", now });
    expect(items.length).toBeGreaterThanOrEqual(4);
    let withLatency = 0;
    for (const i of items) {
      const p = prices.get(i.id)!;
      expect(i.economy!.standardConversation.costNano).toBe(divRoundHalfEven(750n * p.input + 250n * p.output, 1000n));
      const ttft = median(i.id, (e) => e.ttft);
      const tps = median(i.id, (e) => e.tps);
      const want = ttft === null || tps === null ? null : ttft + (250 / tps) * 1000;
      if (want === null) expect(i.economy!.standardConversation.latencyMs).toBeNull();
      else {
        expect(i.economy!.standardConversation.latencyMs).toBeCloseTo(want, 6);
        withLatency++;
      }
    }
    expect(withLatency).toBeGreaterThanOrEqual(2);
    const costs = items.map((i) => i.economy!.standardConversation.costNano);
    expect(costs).toEqual([...costs].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));

    // The latency sort: measured listings first, fastest first, each at the latency the page shows.
    const byLatency = (await listMarketplace(t.db, { sort: "standardLatency", now })).items.map((i) => i.economy!.standardConversation.latencyMs);
    const measured = byLatency.filter((l): l is number => l !== null);
    expect(measured.length).toBe(withLatency);
    expect(byLatency.slice(0, measured.length)).toEqual([...measured].sort((a, b) => a - b));

    const cput = await rawCput(windowFrom(7 * 24));
    const byCput = (await listMarketplace(t.db, { sort: "cput", now })).items.map((i) => cput.get(i.id)?.per1MNano ?? null);
    const known = byCput.filter((c): c is bigint => c !== null);
    expect(known.length).toBeGreaterThanOrEqual(3);
    expect(byCput.slice(0, known.length)).toEqual([...known].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
  });
});

describe("input costs of rollup rows written before the column", () => {
  it("migration 0032's backfill computes from the events exactly what settlement writes", async () => {
    const snapshot = async () =>
      (
        await t.pool.query(`select (select json_agg(json_build_array(o.org_id, o.dimension, o.hour, o.group_id, o.input_cost_nano::text)
                                                    order by o.org_id, o.dimension, o.hour, o.group_id) from org_usage_hourly o) as org,
                                   (select json_agg(json_build_array(l.listing_id, l.hour, l.input_cost_nano::text) order by l.listing_id, l.hour)
                                    from listing_hourly l) as listing`)
      ).rows[0];
    const written = await snapshot();
    expect(JSON.stringify(written)).toMatch(/"[1-9][0-9]*"\]/);
    await t.pool.query("update org_usage_hourly set input_cost_nano = 0");
    await t.pool.query("update listing_hourly set input_cost_nano = 0");
    expect(await snapshot()).not.toEqual(written);
    await t.pool.query(fs.readFileSync("db/migrations/0032_input_cost_backfill.sql", "utf8"));
    expect(await snapshot()).toEqual(written);
  });
});
