// `npm run bench:catalog`: the marketplace list query over 10 000 published listings.
// Own embedded PostgreSQL (fresh data dir), the same service function the tRPC router
// calls, a few sort/filter combinations; p50 must stay under 50 ms. Compared with a bare
// `select * from listings limit 50` measured in the same run; appended to bench/RESULTS.md.
// The token-economy sorts (cost per useful token, measured energy, the standard conversation) read
// listing_economy, which the worker rebuilds from hourly rollups (server/economy/summary.ts): the
// seed writes 7 days of hourly rollups for every listing, then times one rebuild.
// BENCH_LISTINGS and BENCH_PG_PORT shrink the data and move the database for smoke runs (not recorded).
import { sql } from "drizzle-orm";
import { createDb, createPool } from "../db/client";
import { migrateDb } from "../db/migrate";
import type { marketplaceInput } from "../server/catalog/inputs";
import { listMarketplace } from "../server/catalog/marketplace";
import { refreshListingEconomy } from "../server/economy/summary";
import { startPgChild } from "../scripts/lib/pg-child";
import type { z } from "zod";
import { appendResult, machine, timeQuery } from "./timing";

const LISTINGS = Number(process.env.BENCH_LISTINGS ?? 10_000);
const ORGS = 100;
const FAMILIES = 250;
const RUNS = 200;
const WARMUP = 20;
const P50_LIMIT_MS = 50;

const time = (fn: () => Promise<unknown>) => timeQuery(fn, RUNS, WARMUP);

const pg = await startPgChild({ dataDir: ".data/bench-catalog", port: Number(process.env.BENCH_PG_PORT ?? 54362), database: "bench", fresh: true });
const pool = createPool(pg.url, 4);
const db = createDb(pool);
try {
  await migrateDb(db);
  const seedStarted = performance.now();
  // Set-based seed: organisations, listings, then two past price versions each and a scheduled one for every tenth.
  await db.execute(sql`
    insert into organizations (id, name, slug)
    select gen_random_uuid(), 'Provider ' || i, 'provider-' || i from generate_series(1, ${ORGS}) i`);
  await db.execute(sql`
    with o as (select id, row_number() over (order by slug) as n from organizations)
    insert into listings (id, org_id, slug, model_slug, name, description, family, context_length, modalities,
                          upstream_base_url, upstream_model, tokens_per_watt, grid_carbon_g_per_kwh, status)
    select gen_random_uuid(), o.id, 'provider-' || o.n || '/model-' || i, 'model-' || i,
           (array['Llama','Qwen','Mistral','Gemma','Phi'])[1 + i % 5] || ' model ' || i,
           'Benchmark listing number ' || i,
           'family-' || (i % ${FAMILIES}),
           (array[8192, 32768, 131072, 1000000])[1 + i % 4],
           case when i % 7 = 0 then array['embeddings']::modality[] else array['chat','completion']::modality[] end,
           'http://127.0.0.1:9/v1', 'model-' || i,
           case when i % 11 = 0 then null else 0.5 + (i * 7919 % 1000) / 50.0 end,
           (i * 31 % 600)::float8,
           'published'
    from generate_series(1, ${LISTINGS}) i
    join o on o.n = 1 + i % ${ORGS}`);
  await db.execute(sql`
    insert into listing_prices (id, listing_id, effective_from, input_per1k_nano, output_per1k_nano, cached_input_per1k_nano)
    select gen_random_uuid(), l.id, now() - make_interval(days => v.days_ago),
           (10000 + (hashtext(l.slug || v.days_ago) & 1048575))::bigint,
           (20000 + (hashtext(l.slug || 'o' || v.days_ago) & 2097151))::bigint,
           5000::bigint
    from listings l cross join (values (30), (3)) v(days_ago)`);
  await db.execute(sql`
    insert into listing_prices (id, listing_id, effective_from, input_per1k_nano, output_per1k_nano, cached_input_per1k_nano)
    select gen_random_uuid(), l.id, now() + interval '7 days', 1, 1, 0
    from listings l where l.model_slug like '%0'`);
  // Traffic for the token-economy sorts (issue #21): every listing but each 13th served every hour of the last
  // 7 days (CPUT's window), with some waste and measured energy on half of them; latency buckets for the last 24 h.
  await db.execute(sql`
    insert into listing_hourly (listing_id, hour, provider_org_id, requests, errors, input_tokens, output_tokens, cached_input_tokens,
                                cost_nano, fee_nano, latency_ms_sum, ttft_ms_sum, ttft_count,
                                useful_output_tokens, wasted_cost_nano, energy_tokens, energy_joules)
    select l.id, date_trunc('hour', now()) - make_interval(hours => h), l.org_id,
           40, (hashtext(l.slug) & 3), 30000, 10000 + (hashtext(l.slug || h) & 4095), 0,
           2000000 + (hashtext(l.slug || 'c' || h) & 1048575), 100000, 40000, 8000, 40,
           9000 + (hashtext(l.slug || h) & 4095), (hashtext(l.slug) & 65535),
           case when hashtext(l.slug) & 1 = 0 then 40000 else 0 end,
           case when hashtext(l.slug) & 1 = 0 then 4000 + (hashtext(l.slug || 'j') & 4095) else 0 end
    from listings l cross join generate_series(0, 167) h
    where l.model_slug not like '%13'`);
  await db.execute(sql`
    insert into listing_latency_hourly (listing_id, hour, metric, bucket, events)
    select l.id, date_trunc('hour', now()) - make_interval(hours => h), m, (case m when 1 then 120 else 70 end) + (hashtext(l.slug) & 15), 40
    from listings l cross join generate_series(0, 23) h cross join (values (1), (2)) v(m)
    where l.model_slug not like '%13'`);
  // As autovacuum would on an append-only table: statistics and the visibility map (index-only scans).
  await db.execute(sql`vacuum analyze`);
  const seedMs = performance.now() - seedStarted;
  const refreshStarted = performance.now();
  await refreshListingEconomy(db);
  const refreshMs = performance.now() - refreshStarted;
  await db.execute(sql`vacuum analyze listing_economy`);
  const counts = await db.execute<{ listings: number; prices: number; hourly: number }>(
    sql`select (select count(*)::int from listings) as listings, (select count(*)::int from listing_prices) as prices,
               (select count(*)::int from listing_hourly) as hourly`,
  );

  type Input = z.input<typeof marketplaceInput>;
  const cases: [string, Input][] = [
    ["default: blended price, page 1", {}],
    ["sort tokens per watt", { sort: "tokensPerWatt" }],
    ["sort Wh per 1M", { sort: "whPer1M" }],
    ["sort cost per useful token (7 d window)", { sort: "cput" }],
    ["sort cost per useful token (30 d window)", { sort: "cput", window: "30d" }],
    ["sort standard-conversation cost", { sort: "standardCost" }],
    ["sort standard-conversation latency", { sort: "standardLatency" }],
    ["sort output price, page 100", { sort: "output", page: 100 }],
    ["search 'qwen' + sort tokens per dollar", { q: "qwen", sort: "tokensPerDollar" }],
    ["family filter, sort input", { family: "family-42", sort: "input" }],
    ["provider + modality + min context + max price", { provider: "provider-7", modality: "chat", minContext: 32768, maxPricePer1M: "600" }],
  ];

  const baseline = await time(() => pool.query("select * from listings limit 50"));
  const results: [string, { p50: number; p95: number }, number][] = [];
  for (const [label, input] of cases) {
    const { total } = await listMarketplace(db, input);
    results.push([label, await time(() => listMarketplace(db, input)), total]);
  }

  const f = (n: number) => n.toFixed(2).padStart(7);
  const lines = [
    `| case | matches | p50 ms | p95 ms |`,
    `| --- | ---: | ---: | ---: |`,
    `| baseline: \`select * from listings limit 50\` | 50 | ${f(baseline.p50)} | ${f(baseline.p95)} |`,
    ...results.map(([label, r, total]) => `| ${label} | ${total} | ${f(r.p50)} | ${f(r.p95)} |`),
  ];
  const worst = Math.max(...results.map(([, r]) => r.p50));
  const pass = worst < P50_LIMIT_MS;
  const report = [
    `## Catalog marketplace list query — ${new Date().toISOString()}`,
    ``,
    `Machine: ${machine("embedded PostgreSQL 18")}.`,
    `Data: ${counts.rows[0]?.listings} published listings from ${ORGS} providers, ${counts.rows[0]?.prices} price versions, ${counts.rows[0]?.hourly} hourly listing rollups (seeded in ${(seedMs / 1000).toFixed(1)} s); one rebuild of listing_economy (every window) took ${(refreshMs / 1000).toFixed(1)} s.`,
    `Each case: \`listMarketplace\` (the function behind \`catalog.marketplace\`), page size 24, ${WARMUP} warm-up + ${RUNS} timed runs, one connection.`,
    ``,
    ...lines,
    ``,
    `Worst p50 ${worst.toFixed(2)} ms (limit ${P50_LIMIT_MS} ms): ${pass ? "PASS" : "FAIL"}.`,
    ``,
  ].join("\n");
  console.log(`\n${report}`);
  // A shrunken smoke run is no result.
  if (!process.env.BENCH_LISTINGS) appendResult(report);
  process.exitCode = pass ? 0 : 1;
} finally {
  await pool.end();
  await pg.stop();
}
