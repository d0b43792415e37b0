// `npm run bench:dashboards`: the buyer overview and usage chart queries over 5 million usage
// events. Own embedded PostgreSQL (fresh data dir), events and their rollups seeded with
// set-based SQL (INSERT … SELECT generate_series, not through settlement), then the same
// service functions the tRPC router calls are timed; p50 must stay under 200 ms. Beside
// them, in the same run: the same 30-day chart aggregated from raw events (what the rollups
// save) and a trivial indexed lookup. Appended to bench/RESULTS.md.
import { sql } from "drizzle-orm";
import { createDb, createPool } from "../db/client";
import { migrateDb } from "../db/migrate";
import { activityPage } from "../server/dashboards/activity";
import { buyerOverview, buyerSeries } from "../server/dashboards/buyer";
import { providerEarnings } from "../server/dashboards/provider";
import { makeBuyer, makeListing, makeProvider } from "../server/usage/testing";
import { startPgChild } from "../scripts/lib/pg-child";
import { appendResult, machine, timeQuery } from "./timing";

const EVENTS = Number(process.env.BENCH_EVENTS ?? 5_000_000);
const CHUNK = 500_000;
const DAYS = 60;
const LISTINGS = 20;
const BUYERS = 200;
const BIG_KEYS = 10;
/** Share of all events made by the one big buyer whose dashboards are timed. */
const BIG_SHARE = 0.4;
const RUNS = 50;
const WARMUP = 5;
const P50_LIMIT_MS = 200;

const time = (fn: () => Promise<unknown>, runs = RUNS, warmup = WARMUP) => timeQuery(fn, runs, warmup);

const log = (m: string) => console.log(`[bench:dashboards] ${m}`);
const pg = await startPgChild({ dataDir: ".data/bench-dashboards", port: 54367, database: "bench", fresh: true });
const pool = createPool(pg.url, 4);
const db = createDb(pool);
try {
  await migrateDb(db);
  const seedStarted = performance.now();
  const provider = await makeProvider(db, "bench-provider");
  const since = new Date(Date.now() - (DAYS + 5) * 86_400_000);
  for (let i = 0; i < LISTINGS; i++) {
    await makeListing(db, provider, [
      { effectiveFrom: since, inputPer1kNano: 50_000n + BigInt(i) * 10_000n, outputPer1kNano: 100_000n + BigInt(i) * 20_000n, cachedInputPer1kNano: 25_000n },
    ]);
  }
  const big = await makeBuyer(db, { creditNano: 100_000_000_000_000n, keys: BIG_KEYS, name: "bench-big" });
  for (let i = 1; i < BUYERS; i++) await makeBuyer(db, { creditNano: 0n, keys: 2, name: "bench-buyer" });
  await db.execute(sql`select tm_usage_ensure_partitions(now() - ${`${DAYS + 1} days`}::interval, now())`);
  // Numbered keys (the big buyer's first) and listings with their price, for the set-based seed.
  await db.execute(sql`
    create temporary table bench_keys as
    select (row_number() over (order by (org_id = ${big.orgId}::uuid) desc, id) - 1)::int as n, id as key_id, org_id from api_keys`);
  await db.execute(sql`
    create temporary table bench_listings as
    select (row_number() over (order by l.id) - 1)::int as n, l.id, l.org_id, p.id as price_id,
           p.input_per1k_nano, p.output_per1k_nano, p.cached_input_per1k_nano
    from listings l join listing_prices p on p.listing_id = l.id`);
  const otherKeys = (await db.execute<{ c: number }>(sql`select count(*)::int - ${BIG_KEYS} as c from bench_keys`)).rows[0]!.c;

  for (let lo = 1; lo <= EVENTS; lo += CHUNK) {
    const hi = Math.min(EVENTS, lo + CHUNK - 1);
    await db.execute(sql`
      insert into usage_events (id, started_at, first_token_at, ended_at, org_id, key_id, listing_id, provider_org_id, reservation_id,
                                input_tokens, output_tokens, cached_input_tokens, status, estimated, upstream_status, price_id, cost_nano, fee_nano,
                                fingerprint, batch_seq, settlement_id, settled_at, input_cost_nano)
      -- The id's first 48 bits are the request's start (a UUIDv7's, which places the row in its month's partition).
      select overlay(md5(gen_random_uuid()::text) placing left(replace(tm_uuid_floor(e.t)::text, '-', ''), 12) from 1 for 12)::uuid,
             e.t, e.t + e.ttft, e.t + e.ttft + e.gen, k.org_id, k.key_id, l.id, l.org_id, null,
             e.inp, e.outp, e.cached, e.status, e.i % 17 = 0, 200, l.price_id,
             tm_usage_cost(e.inp, e.outp, e.cached, l.input_per1k_nano, l.output_per1k_nano, l.cached_input_per1k_nano),
             tm_fee_nano(tm_usage_cost(e.inp, e.outp, e.cached, l.input_per1k_nano, l.output_per1k_nano, l.cached_input_per1k_nano), 500),
             -- Seeded as settled (the shape of events settled before windows: no batch, a settlement of their own).
             gen_random_uuid(), 0, gen_random_uuid(), e.t + e.ttft + e.gen,
             tm_usage_cost(e.inp, 0, e.cached, l.input_per1k_nano, 0, l.cached_input_per1k_nano)
      from (
        select i, r1, r2, now() - r3 * ${`${DAYS} days`}::interval as t,
               make_interval(secs => 0.05 + r4 * 0.5) as ttft, make_interval(secs => 0.2 + r4 * 4) as gen,
               (100 + r4 * 3000)::int as inp, (20 + r3 * 800)::int as outp, case when i % 4 = 0 then 256 else 0 end as cached,
               case when i % 53 = 0 then 'error' when i % 97 = 0 then 'aborted' else 'ok' end as status
        from (select i, random() as r1, random() as r2, random() as r3, random() as r4 from generate_series(${lo}::int, ${hi}::int) i) r
      ) e
      join bench_keys k on k.n = case when e.r1 < ${BIG_SHARE}::float8 then floor(e.r1 / ${BIG_SHARE}::float8 * ${BIG_KEYS}::int)::int
                                      else ${BIG_KEYS}::int + floor((e.r1 - ${BIG_SHARE}::float8) / (1 - ${BIG_SHARE}::float8) * ${otherKeys}::int)::int end
      join bench_listings l on l.n = floor(e.r2 * ${LISTINGS}::int)::int`);
    log(`events ${hi.toLocaleString("en-US")} / ${EVENTS.toLocaleString("en-US")}`);
  }
  // The rollups settlement would have maintained, computed from the events in one pass each.
  await db.execute(sql`
    insert into usage_hourly (org_id, key_id, listing_id, hour, requests, input_tokens, output_tokens, cached_input_tokens, cost_nano,
                              errors, latency_ms_sum, ttft_ms_sum, ttft_count)
    select org_id, key_id, listing_id, date_trunc('hour', started_at, 'UTC'), count(*), sum(input_tokens), sum(output_tokens),
           sum(cached_input_tokens), sum(cost_nano)::int8, count(*) filter (where status <> 'ok'),
           sum((extract(epoch from ended_at - started_at) * 1000)::int8), sum((extract(epoch from first_token_at - started_at) * 1000)::int8), count(first_token_at)
    from usage_events group by 1, 2, 3, 4`);
  await db.execute(sql`
    insert into org_usage_hourly (org_id, dimension, hour, group_id, requests, input_tokens, output_tokens, cached_input_tokens, cost_nano)
    select org_id, d.dimension, date_trunc('hour', started_at, 'UTC'), d.group_id, count(*), sum(input_tokens), sum(output_tokens),
           sum(cached_input_tokens), sum(cost_nano)::int8
    from usage_events e cross join lateral (values (1::smallint, e.listing_id), (2::smallint, e.key_id)) as d(dimension, group_id)
    group by 1, 2, 3, 4`);
  await db.execute(sql`
    insert into key_spend_daily (org_id, key_id, day, spend_nano)
    select org_id, key_id, (started_at at time zone 'UTC')::date, sum(cost_nano)::int8 from usage_events group by 1, 2, 3`);
  await db.execute(sql`
    insert into listing_hourly (listing_id, hour, provider_org_id, requests, errors, input_tokens, output_tokens, cached_input_tokens,
                                cost_nano, fee_nano, latency_ms_sum, ttft_ms_sum, ttft_count)
    select listing_id, date_trunc('hour', started_at, 'UTC'), provider_org_id, count(*), count(*) filter (where status <> 'ok'),
           sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cost_nano)::int8, sum(fee_nano)::int8,
           sum((extract(epoch from ended_at - started_at) * 1000)::int8), sum((extract(epoch from first_token_at - started_at) * 1000)::int8), count(first_token_at)
    from usage_events group by 1, 2, 3`);
  await db.execute(sql`
    insert into listing_latency_hourly (listing_id, hour, metric, bucket, events)
    select listing_id, date_trunc('hour', started_at, 'UTC'), m.metric, tm_hist_bucket(m.v), count(*)
    from usage_events e cross join lateral (values
      (1::smallint, extract(epoch from e.first_token_at - e.started_at) * 1000),
      (2::smallint, e.output_tokens / extract(epoch from e.ended_at - e.first_token_at))) as m(metric, v)
    where e.status = 'ok' group by 1, 2, 3, 4`);
  // The rollups' late parts (days in zones whose midnight falls inside a UTC hour), as migration 0015 fills them.
  await db.execute(sql`select tm_backfill_rollup_late_parts()`);
  // As autovacuum would on append-only tables: statistics and the visibility map (index-only scans).
  await db.execute(sql`vacuum analyze`);
  const seedMs = performance.now() - seedStarted;
  const counts = (
    await db.execute<{ events: number; big: number; hourly: number; big_hourly: number; listing_hourly: number }>(sql`
      select (select count(*)::int from usage_events) as events,
             (select count(*)::int from usage_events where org_id = ${big.orgId}::uuid) as big,
             (select count(*)::int from usage_hourly) as hourly,
             (select count(*)::int from org_usage_hourly where org_id = ${big.orgId}::uuid) as big_hourly,
             (select count(*)::int from listing_hourly) as listing_hourly`)
  ).rows[0]!;
  log(`seeded in ${(seedMs / 1000).toFixed(1)} s: ${JSON.stringify(counts)}`);

  const orgId = big.orgId;
  const cases: [string, () => Promise<unknown>][] = [
    ["buyer overview (`dashboards.overview`)", () => buyerOverview(db, { orgId, tz: "Europe/Paris" })],
    [
      "usage chart, 30 days by day, by model (`dashboards.series`)",
      () => buyerSeries(db, { orgId, tz: "Europe/Paris", granularity: "day", days: 30, groupBy: "listing" }),
    ],
    ["usage chart, 30 days by day, by key", () => buyerSeries(db, { orgId, tz: "Europe/Paris", granularity: "day", days: 30, groupBy: "key" })],
    ["usage chart, 90 days by day, by model", () => buyerSeries(db, { orgId, tz: "UTC", granularity: "day", days: 90, groupBy: "listing" })],
    ["usage chart, 7 days by hour, by model", () => buyerSeries(db, { orgId, tz: "UTC", granularity: "hour", days: 7, groupBy: "listing" })],
    // Midnight falls inside a UTC hour: those 30 hours are split by the rollups' late parts.
    ["buyer overview, Asia/Kolkata", () => buyerOverview(db, { orgId, tz: "Asia/Kolkata" })],
    [
      "usage chart, 30 days by day, by model, Asia/Kolkata",
      () => buyerSeries(db, { orgId, tz: "Asia/Kolkata", granularity: "day", days: 30, groupBy: "listing" }),
    ],
    ["activity log, first page of 50 (raw events)", () => activityPage(db, { orgId, filter: {}, limit: 50 })],
    ["provider earnings, 30 days (`dashboards.earnings`)", () => providerEarnings(db, { orgId: provider.id, tz: "UTC", days: 30 })],
    ["provider earnings, 30 days, Asia/Kolkata", () => providerEarnings(db, { orgId: provider.id, tz: "Asia/Kolkata", days: 30 })],
  ];
  const baselineLookup = await time(() => pool.query("select * from organizations where id = $1", [orgId]));
  const baselineRaw = await time(
    () =>
      pool.query(
        `select date_trunc('day', started_at, 'Europe/Paris') as day, listing_id, count(*), sum(input_tokens), sum(output_tokens), sum(cost_nano)
         from usage_events where org_id = $1 and started_at >= now() - interval '30 days' group by 1, 2`,
        [orgId],
      ),
    5,
    1,
  );
  const results: [string, Awaited<ReturnType<typeof time>>][] = [];
  for (const [label, fn] of cases) {
    results.push([label, await time(fn)]);
    log(`${label}: p50 ${results.at(-1)![1].p50.toFixed(2)} ms`);
  }

  const f = (n: number) => n.toFixed(2).padStart(8);
  const timed = results.slice(0, 7);
  const worst = Math.max(...timed.map(([, r]) => r.p50));
  const pass = worst < P50_LIMIT_MS;
  const report = [
    `## Dashboards: buyer overview and usage chart — ${new Date().toISOString()}`,
    ``,
    `Machine: ${machine("embedded PostgreSQL 18")}.`,
    `Data: ${counts.events.toLocaleString("en-US")} usage events over ${DAYS} days (${BUYERS} buyers, ${LISTINGS} listings), ${counts.big.toLocaleString("en-US")} of them by the buyer timed here (${BIG_KEYS} keys); rollups: ${counts.hourly.toLocaleString("en-US")} usage_hourly rows, ${counts.big_hourly.toLocaleString("en-US")} org_usage_hourly rows of the buyer's, ${counts.listing_hourly.toLocaleString("en-US")} listing_hourly rows. Seeded with set-based SQL in ${(seedMs / 1000).toFixed(0)} s.`,
    `Each case: the service function behind the tRPC procedure, ${WARMUP} warm-up + ${RUNS} timed runs, one connection, server-side (no HTTP).`,
    ``,
    `| case | p50 ms | p95 ms |`,
    `| --- | ---: | ---: |`,
    `| baseline: indexed lookup of one organisation | ${f(baselineLookup.p50)} | ${f(baselineLookup.p95)} |`,
    `| baseline: the 30-day chart from raw events (${baselineRaw.runs} runs) | ${f(baselineRaw.p50)} | ${f(baselineRaw.p95)} |`,
    ...results.map(([label, r]) => `| ${label} | ${f(r.p50)} | ${f(r.p95)} |`),
    ``,
    `Worst p50 of the overview and chart cases ${worst.toFixed(2)} ms (limit ${P50_LIMIT_MS} ms): ${pass ? "PASS" : "FAIL"}.`,
    ``,
  ].join("\n");
  console.log(`\n${report}`);
  if (EVENTS === 5_000_000) {
    appendResult(report);
  }
  process.exitCode = pass ? 0 : 1;
} finally {
  await pool.end();
  await pg.stop();
}
