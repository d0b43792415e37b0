import { sql, type SQL } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../../db/client";
import { measuredStats, windowStart } from "../catalog/measured";
import { orgCreditBalance } from "../credits/postings";
import { DomainError } from "../errors";
import { listKeys } from "../keys/service";
import { usdDecimal } from "../ledger/money";
import { pgArray } from "../lib/pg-array";
import { asDate } from "../usage/store";
import { usageStatus } from "../usage/contract";
import { LATE_CUTS, LISTING_METRICS, ORG_USAGE_METRICS } from "./late-parts";
import { orgAccountSums } from "../ledger/reports";
import { csvLine } from "../lib/csv";
import { keysetPage, pageFetchSize } from "../lib/paging";
import { burnRatePerDayNano, daysOfCreditLeft, decodeCursor, encodeCursor, isTimeZone, usageEnergy } from "./rules";

/**
 * Buyer usage and provider earnings dashboards. Every figure comes from the rollups
 * settlement maintains (org_usage_hourly, listing_hourly, listing_latency_hourly) or the
 * ledger, except the activity log, which pages raw events through their
 * (org_id, started_at, id) index. Periods are whole days (or hours) in the viewer's
 * time zone. Rollups are UTC hours; in zones whose midnight falls inside a UTC hour (India
 * +5:30, Nepal +5:45, Newfoundland −3:30, …) the hours holding a midnight are split by the
 * rollups' late parts (see usageByDay): days are exact in those zones too.
 */

const BURN_DAYS = 7;
/** org_usage_hourly.dimension: what group_id is. */
const BY_LISTING = 1;
const BY_KEY = 2;

const timeZone = z
  .string()
  .max(64, "must be at most 64 characters")
  .refine(isTimeZone, "must be an IANA time zone such as Europe/Paris")
  .default("UTC");
const uuid = (what: string) => z.uuid(`is not a valid ${what} id`);

export const overviewInput = z.object({ tz: timeZone });
export const seriesInput = z
  .object({
    tz: timeZone,
    granularity: z.enum(["hour", "day"]).default("day"),
    /** Days back, today included. */
    days: z.number().int().min(1, "must be at least 1").max(93, "must be at most 93").default(30),
    groupBy: z.enum(["listing", "key"]).default("listing"),
  })
  .refine((v) => v.granularity === "day" || v.days <= 7, { message: "must be at most 7 for hourly charts", path: ["days"] });
export const activityFilter = z
  .object({
    keyId: uuid("key").optional(),
    listingId: uuid("listing").optional(),
    status: usageStatus.optional(),
    /** Inclusive start and exclusive end of started_at. */
    from: z.coerce.date({ message: "must be a date" }).optional(),
    to: z.coerce.date({ message: "must be a date" }).optional(),
  })
  .refine((v) => !v.from || !v.to || v.from < v.to, { message: "must be after from", path: ["to"] });
export const activityInput = z.object({
  filter: activityFilter.default({}),
  cursor: z.string().max(200).optional(),
  limit: z.number().int().min(1).max(200, "must be at most 200").default(50),
});
export const periodInput = z.object({
  tz: timeZone,
  days: z.number().int().min(1, "must be at least 1").max(93, "must be at most 93").default(30),
});

/** First instant of the day `days − 1` days before today, in `tz` (so `days` calendar days, today included). */
const daysStartSql = (now: Date, tz: string, days: number): SQL =>
  sql`((date_trunc('day', ${now.toISOString()}::timestamptz, ${tz}) at time zone ${tz}) - ${days - 1} * interval '1 day') at time zone ${tz}`;

/**
 * The UTC hours that hold a local midnight of `tz` from `from` (a local midnight) to now,
 * with the midnight and its minute of the hour: none in whole-hour zones.
 */
const edgeHoursSql = (tz: string, from: SQL, now: Date): SQL => sql`
  select date_trunc('hour', m.at) as hs, m.at, (extract(epoch from m.at - date_trunc('hour', m.at)) / 60)::int as minute
  from generate_series((${from} at time zone ${tz})::date::timestamp, (${now.toISOString()}::timestamptz at time zone ${tz})::date::timestamp, interval '1 day') as g(d)
  cross join lateral (select g.d at time zone ${tz} as at) m
  where m.at <> date_trunc('hour', m.at)`;

type UsageSource =
  | { kind: "buyer"; orgId: string; dimension: typeof BY_LISTING | typeof BY_KEY }
  | { kind: "provider"; orgId: string };

/** The columns of usageByDay's rows after (t, group_id): every day-relevant sum a rollup keeps. */
const SPLIT_METRICS = Object.keys(LISTING_METRICS);

/**
 * Usage since `from` (a local midnight of `tz`) from the hourly rollups, as rows (t, group_id,
 * requests, errors, input_tokens, output_tokens, cached_input_tokens, cost_nano, fee_nano)
 * whose `t` falls on the right local day: an hour holding a midnight at :15 or :30 is split
 * there by its late parts (./late-parts.ts) into a row at the hour and a row at the midnight.
 * A buyer's rows are grouped by listing or key (org_usage_hourly keeps no errors or fees:
 * they read 0); a provider's by listing. (A midnight at another minute, which no zone has
 * today, would leave its hour whole on the earlier day.)
 */
function usageByDay(source: UsageSource, tz: string, from: SQL, now: Date): SQL {
  const own = source.kind === "buyer" ? ORG_USAGE_METRICS : LISTING_METRICS;
  const whole = (m: string) => (m in own ? `h.${m}::int8` : "0::int8");
  const late = (m: string) => (m in own ? `(case e.minute ${LATE_CUTS.map((c) => `when ${c} then h.${m}_after${c}`).join(" ")} else 0 end)::int8` : "0::int8");
  const columns = (f: (m: string) => string) => sql.raw(SPLIT_METRICS.map((m) => `${f(m)} as ${m}`).join(", "));
  const [table, group, owner] =
    source.kind === "buyer"
      ? [sql.raw("org_usage_hourly"), sql.raw("h.group_id"), sql`h.org_id = ${source.orgId}::uuid and h.dimension = ${source.dimension}`]
      : [sql.raw("listing_hourly"), sql.raw("h.listing_id"), sql`h.provider_org_id = ${source.orgId}::uuid`];
  // Whole hours of one day as they are (all of them in whole-hour zones); each hour holding a
  // midnight, found by key, as its part before the midnight and its part after.
  return sql`(
    with w as (select ${from} as from_at),
    edges as (${edgeHoursSql(tz, sql`(select from_at from w)`, now)})
    select h.hour as t, ${group} as group_id, ${columns(whole)}
    from ${table} h
    where ${owner} and h.hour >= (select from_at from w) and h.hour not in (select hs from edges)
    union all
    select h.hour, ${group}, ${columns((m) => `${whole(m)} - ${late(m)}`)}
    from edges e join ${table} h on h.hour = e.hs and ${owner}
    where h.hour >= (select from_at from w) and h.requests > ${sql.raw(late("requests"))}
    union all
    select e.at, ${group}, ${columns(late)}
    from edges e join ${table} h on h.hour = e.hs and ${owner}
    where e.at >= (select from_at from w) and ${sql.raw(late("requests"))} > 0
  )`;
}

const n = (v: bigint | number | string | null) => Number(v ?? 0);
const big = (v: bigint | number | string | null) => BigInt(v ?? 0);

// ---------------------------------------------------------------- buyer

/** Balance, spend today / this month (viewer's days), 7-day burn rate and the days of credit it leaves. */
export async function buyerOverview(db: DbOrTx, orgId: string, p: z.infer<typeof overviewInput>, now = new Date()) {
  const nowText = now.toISOString();
  const today = sql`date_trunc('day', ${nowText}::timestamptz, ${p.tz})`;
  const month = sql`date_trunc('month', ${nowText}::timestamptz, ${p.tz})`;
  const [balance, { rows }] = await Promise.all([
    orgCreditBalance(db, orgId),
    db.execute<Record<string, bigint>>(sql`
      with u as (select * from ${usageByDay({ kind: "buyer", orgId, dimension: BY_LISTING }, p.tz, month, now)} u)
      select coalesce(sum(u.cost_nano) filter (where u.t >= ${today}), 0)::int8 as spend_today,
             coalesce(sum(u.requests) filter (where u.t >= ${today}), 0)::int8 as requests_today,
             coalesce(sum(u.cost_nano), 0)::int8 as spend_month,
             coalesce(sum(u.requests), 0)::int8 as requests_month,
             coalesce(sum(u.input_tokens + u.output_tokens + u.cached_input_tokens), 0)::int8 as tokens_month,
             -- The burn rate is over whole UTC hours (the last ${sql.raw(String(BURN_DAYS * 24))}), so it reads the rollup alone.
             (select coalesce(sum(h.cost_nano), 0)::int8 from org_usage_hourly h
              where h.org_id = ${orgId}::uuid and h.dimension = ${BY_LISTING}
                and h.hour >= date_trunc('hour', ${nowText}::timestamptz) - interval '${sql.raw(String(BURN_DAYS * 24 - 1))} hours') as spend_burn
      from u`),
  ]);
  const r = rows[0]!;
  const burnPerDayNano = burnRatePerDayNano(big(r.spend_burn!), BURN_DAYS);
  return {
    balanceNano: balance.balanceNano,
    availableNano: balance.availableNano,
    reservedNano: balance.reservedNano,
    owedNano: balance.owedNano,
    spendTodayNano: big(r.spend_today!),
    requestsToday: n(r.requests_today!),
    spendMonthNano: big(r.spend_month!),
    requestsMonth: n(r.requests_month!),
    tokensMonth: n(r.tokens_month!),
    burnDays: BURN_DAYS,
    burnPerDayNano,
    daysLeft: daysOfCreditLeft(balance.availableNano, burnPerDayNano),
  };
}

/** Spend, requests and tokens per day or hour (viewer's zone), split by listing or by key, with the groups' names. */
export async function buyerSeries(db: DbOrTx, orgId: string, p: z.infer<typeof seriesInput>, now = new Date()) {
  const from =
    p.granularity === "day"
      ? daysStartSql(now, p.tz, p.days)
      : sql`date_trunc('hour', ${now.toISOString()}::timestamptz) - ${p.days * 24 - 1} * interval '1 hour'`;
  const dimension = p.groupBy === "listing" ? BY_LISTING : BY_KEY;
  // Days: exact local days. Hours: the rollup's UTC hours as they are (in a zone with a
  // half-hour offset a bar then covers 05:30–06:30 local, never half of two hours).
  const usage =
    p.granularity === "day"
      ? sql`(select date_trunc('day', u.t, ${p.tz}) as bucket, u.* from ${usageByDay({ kind: "buyer", orgId, dimension }, p.tz, from, now)} u)`
      : sql`(select h.hour as bucket, h.group_id, h.requests, h.input_tokens, h.output_tokens, h.cached_input_tokens, h.cost_nano
             from org_usage_hourly h where h.org_id = ${orgId}::uuid and h.dimension = ${dimension} and h.hour >= ${from})`;
  const { rows } = await db.execute<{ bucket: string; group_id: string; requests: bigint; input_tokens: bigint; output_tokens: bigint; cached_input_tokens: bigint; cost_nano: bigint }>(sql`
    select x.bucket, x.group_id,
           sum(x.requests)::int8 as requests, sum(x.input_tokens)::int8 as input_tokens, sum(x.output_tokens)::int8 as output_tokens,
           sum(x.cached_input_tokens)::int8 as cached_input_tokens, sum(x.cost_nano)::int8 as cost_nano
    from ${usage} x
    group by 1, 2 order by 1, 2`);
  const ids = [...new Set(rows.map((r) => r.group_id))];
  const names = ids.length ? await groupNames(db, p.groupBy, ids) : new Map<string, string>();
  return {
    granularity: p.granularity,
    groupBy: p.groupBy,
    groups: ids.map((id) => ({ id, name: names.get(id) ?? id })).sort((a, b) => a.name.localeCompare(b.name)),
    points: rows.map((r) => ({
      bucket: asDate(r.bucket),
      groupId: r.group_id,
      requests: n(r.requests),
      inputTokens: n(r.input_tokens),
      outputTokens: n(r.output_tokens),
      cachedInputTokens: n(r.cached_input_tokens),
      costNano: r.cost_nano,
    })),
  };
}

async function groupNames(db: DbOrTx, groupBy: "listing" | "key", ids: string[]) {
  const table = groupBy === "listing" ? sql`listings` : sql`api_keys`;
  const label = groupBy === "listing" ? sql`slug` : sql`name || ' (…' || last4 || ')'`;
  const { rows } = await db.execute<{ id: string; name: string }>(sql`select id, ${label} as name from ${table} where id = any(${pgArray(ids)}::uuid[])`);
  return new Map(rows.map((r) => [r.id, r.name]));
}

type ActivityRow = {
  id: string;
  started_at_text: string;
  started_at: string;
  key_id: string;
  key_name: string;
  listing_id: string;
  listing_slug: string;
  provider_name: string;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cost_nano: bigint;
  latency_ms: number;
  ttft_ms: number | null;
  status: "ok" | "error" | "aborted";
  estimated: boolean;
  upstream_status: number | null;
  settled: boolean;
};

function activityWhere(orgId: string, f: z.infer<typeof activityFilter>): SQL {
  const c: SQL[] = [sql`e.org_id = ${orgId}::uuid`];
  if (f.keyId) c.push(sql`e.key_id = ${f.keyId}::uuid`);
  if (f.listingId) c.push(sql`e.listing_id = ${f.listingId}::uuid`);
  if (f.status) c.push(sql`e.status = ${f.status}`);
  if (f.from) c.push(sql`e.started_at >= ${f.from.toISOString()}::timestamptz`);
  if (f.to) c.push(sql`e.started_at < ${f.to.toISOString()}::timestamptz`);
  return sql.join(c, sql` and `);
}

/** One page of the organisation's requests, newest first, after `cursor` (keyset paging: stable while new events arrive). */
export async function activityPage(db: DbOrTx, orgId: string, p: z.infer<typeof activityInput>) {
  const where = [activityWhere(orgId, p.filter)];
  if (p.cursor) {
    const c = decodeCursor(p.cursor);
    if (!c) throw new DomainError("INVALID_INPUT", "cursor: is not a cursor this page gave out", "cursor");
    where.push(sql`(e.started_at, e.id) < (${c.startedAtText}::timestamptz, ${c.id}::uuid)`);
  }
  const { rows } = await db.execute<ActivityRow>(sql`
    select e.id, e.started_at::text as started_at_text, e.started_at, e.key_id, k.name as key_name, e.listing_id, l.slug as listing_slug,
           p.name as provider_name, e.input_tokens, e.output_tokens, e.cached_input_tokens, e.cost_nano,
           round(extract(epoch from e.ended_at - e.started_at) * 1000)::int as latency_ms,
           round(extract(epoch from e.first_token_at - e.started_at) * 1000)::int as ttft_ms,
           e.status, e.estimated, e.upstream_status, (e.batch_seq = 0 or b.settled_at is not null) as settled
    from usage_events e
    left join usage_batches b on b.seq = e.batch_seq
    join api_keys k on k.id = e.key_id
    join listings l on l.id = e.listing_id
    join organizations p on p.id = e.provider_org_id
    where ${sql.join(where, sql` and `)}
    order by e.started_at desc, e.id desc
    limit ${pageFetchSize(p.limit)}`);
  const page = keysetPage(rows, p.limit, (last) => encodeCursor({ startedAtText: last.started_at_text, id: last.id }), (r) => ({
      id: r.id,
      startedAt: asDate(r.started_at),
      keyId: r.key_id,
      keyName: r.key_name,
      listingId: r.listing_id,
      listingSlug: r.listing_slug,
      providerName: r.provider_name,
      inputTokens: r.input_tokens,
      outputTokens: r.output_tokens,
      cachedInputTokens: r.cached_input_tokens,
      costNano: r.cost_nano,
      latencyMs: r.latency_ms,
      ttftMs: r.ttft_ms,
      status: r.status,
      estimated: r.estimated,
      upstreamStatus: r.upstream_status,
      /** Billed at this cost; in the ledger once the settler's next window takes it. */
      settling: !r.settled,
  }));
  return { rows: page.items, nextCursor: page.nextCursor };
}

/** Count and sums of every request the filter matches (what the log's pages and the CSV add up to). */
export async function activityTotals(db: DbOrTx, orgId: string, filter: z.infer<typeof activityFilter>) {
  const { rows } = await db.execute<{ requests: bigint; input_tokens: bigint; output_tokens: bigint; cached_input_tokens: bigint; cost_nano: bigint }>(sql`
    select count(*)::int8 as requests, coalesce(sum(e.input_tokens), 0)::int8 as input_tokens, coalesce(sum(e.output_tokens), 0)::int8 as output_tokens,
           coalesce(sum(e.cached_input_tokens), 0)::int8 as cached_input_tokens, coalesce(sum(e.cost_nano), 0)::int8 as cost_nano
    from usage_events e where ${activityWhere(orgId, filter)}`);
  const r = rows[0]!;
  return { requests: n(r.requests), inputTokens: n(r.input_tokens), outputTokens: n(r.output_tokens), cachedInputTokens: n(r.cached_input_tokens), costNano: r.cost_nano };
}

export const CSV_HEADER = [
  "started_at_utc",
  "request_id",
  "key",
  "listing",
  "provider",
  "input_tokens",
  "output_tokens",
  "cached_input_tokens",
  "cost_usd",
  "latency_ms",
  "ttft_ms",
  "status",
  "estimated",
] as const;

/** The filtered log as CSV lines (header first), read page by page so memory stays flat however long the log. */
export async function* activityCsv(db: DbOrTx, orgId: string, filter: z.infer<typeof activityFilter>): AsyncGenerator<string> {
  yield csvLine(CSV_HEADER);
  let cursor: string | undefined;
  for (;;) {
    const page = await activityPage(db, orgId, { filter, cursor, limit: 200 });
    for (const r of page.rows) {
      yield csvLine([
        r.startedAt.toISOString(),
        r.id,
        r.keyName,
        r.listingSlug,
        r.providerName,
        r.inputTokens,
        r.outputTokens,
        r.cachedInputTokens,
        usdDecimal(r.costNano),
        r.latencyMs,
        r.ttftMs,
        r.status,
        r.estimated,
      ]);
    }
    if (!page.nextCursor) return;
    cursor = page.nextCursor;
  }
}

/** Energy of the organisation's usage per listing over the period, from each listing's declared tokens per watt and grid carbon. */
export async function buyerEnergy(db: DbOrTx, orgId: string, p: z.infer<typeof periodInput>, now = new Date()) {
  const { rows } = await db.execute<{
    listing_id: string;
    slug: string;
    tokens_per_watt: number | null;
    grid_carbon_g_per_kwh: number | null;
    energy_method: string | null;
    energy_hardware: string | null;
    requests: bigint;
    tokens: bigint;
  }>(sql`
    select l.id as listing_id, l.slug, l.tokens_per_watt, l.grid_carbon_g_per_kwh, l.energy_method, l.energy_hardware,
           sum(u.requests)::int8 as requests, sum(u.input_tokens + u.output_tokens + u.cached_input_tokens)::int8 as tokens
    from ${usageByDay({ kind: "buyer", orgId, dimension: BY_LISTING }, p.tz, daysStartSql(now, p.tz, p.days), now)} u
    join listings l on l.id = u.group_id
    group by l.id order by l.slug`);
  const listings = rows.map((r) => {
    const tokens = n(r.tokens);
    return {
      listingId: r.listing_id,
      slug: r.slug,
      requests: n(r.requests),
      tokens,
      tokensPerWatt: r.tokens_per_watt,
      gridCarbonGPerKwh: r.grid_carbon_g_per_kwh,
      energyMethod: r.energy_method,
      energyHardware: r.energy_hardware,
      ...usageEnergy(tokens, r.tokens_per_watt, r.grid_carbon_g_per_kwh),
    };
  });
  const sum = (f: (l: (typeof listings)[number]) => number | null) => listings.reduce((s, l) => s + (f(l) ?? 0), 0);
  return {
    days: p.days,
    listings,
    totalWh: sum((l) => l.wh),
    totalGCo2: sum((l) => l.gCo2),
    /** Tokens on listings that declare no tokens-per-watt figure (not counted in the totals). */
    undeclaredTokens: sum((l) => (l.wh === null ? l.tokens : 0)),
  };
}

/** Each key's spend in its limit period (this month when it has none) against the limit. */
export async function keySpend(db: DbOrTx, orgId: string, now = new Date()) {
  const keys = await listKeys(db, orgId, now);
  return keys.map((k) => ({
    id: k.id,
    name: k.name,
    last4: k.last4,
    status: k.status,
    spendPeriod: k.spendPeriod,
    periodSpendNano: k.periodSpendNano,
    spendLimitNano: k.spendLimitNano,
    periodResetsAt: k.periodResetsAt,
  }));
}

// ---------------------------------------------------------------- provider

/**
 * What the provider's listings served and earned per day (viewer's zone) and listing:
 * gross is what buyers were charged, fee the platform's part (each event's own fee, so
 * exact per listing and day), net what was credited to the provider's payable.
 */
export async function providerEarnings(db: DbOrTx, orgId: string, p: z.infer<typeof periodInput>, now = new Date()) {
  const { rows } = await db.execute<{
    day: string;
    listing_id: string;
    slug: string;
    requests: bigint;
    errors: bigint;
    input_tokens: bigint;
    output_tokens: bigint;
    cached_input_tokens: bigint;
    cost_nano: bigint;
    fee_nano: bigint;
  }>(sql`
    select date_trunc('day', u.t, ${p.tz}) as day, u.group_id as listing_id, l.slug,
           sum(u.requests)::int8 as requests, sum(u.errors)::int8 as errors, sum(u.input_tokens)::int8 as input_tokens,
           sum(u.output_tokens)::int8 as output_tokens, sum(u.cached_input_tokens)::int8 as cached_input_tokens,
           sum(u.cost_nano)::int8 as cost_nano, sum(u.fee_nano)::int8 as fee_nano
    from ${usageByDay({ kind: "provider", orgId }, p.tz, daysStartSql(now, p.tz, p.days), now)} u
    join listings l on l.id = u.group_id
    group by 1, 2, 3 order by 1, 3`);
  const entries = rows.map((r) => ({
    day: asDate(r.day),
    listingId: r.listing_id,
    slug: r.slug,
    requests: n(r.requests),
    errors: n(r.errors),
    inputTokens: n(r.input_tokens),
    outputTokens: n(r.output_tokens),
    cachedInputTokens: n(r.cached_input_tokens),
    grossNano: r.cost_nano,
    feeNano: r.fee_nano,
    netNano: r.cost_nano - r.fee_nano,
  }));
  type Totals = { requests: number; tokens: number; grossNano: bigint; feeNano: bigint; netNano: bigint };
  const add = (t: Totals, e: (typeof entries)[number]): Totals => ({
    requests: t.requests + e.requests,
    tokens: t.tokens + e.inputTokens + e.outputTokens + e.cachedInputTokens,
    grossNano: t.grossNano + e.grossNano,
    feeNano: t.feeNano + e.feeNano,
    netNano: t.netNano + e.netNano,
  });
  const zero: Totals = { requests: 0, tokens: 0, grossNano: 0n, feeNano: 0n, netNano: 0n };
  const byListing = new Map<string, Totals & { listingId: string; slug: string }>();
  for (const e of entries) byListing.set(e.listingId, { ...add(byListing.get(e.listingId) ?? zero, e), listingId: e.listingId, slug: e.slug });
  return { days: p.days, entries, byListing: [...byListing.values()], totals: entries.reduce(add, zero) };
}

/** Measured performance of the provider's listings over the period: medians, error rate, mean latency. */
export async function providerPerformance(db: DbOrTx, orgId: string, p: z.infer<typeof periodInput>, now = new Date()) {
  const from = p.days === 1 ? windowStart(now) : null;
  const fromSql = from ? sql`${from.toISOString()}::timestamptz` : daysStartSql(now, p.tz, p.days);
  const { rows } = await db.execute<{ listing_id: string; slug: string; from_ts: string; requests: bigint; errors: bigint; latency_ms_sum: bigint; ttft_ms_sum: bigint; ttft_count: bigint }>(sql`
    select l.id as listing_id, l.slug, ${fromSql} as from_ts, coalesce(sum(h.requests), 0)::int8 as requests, coalesce(sum(h.errors), 0)::int8 as errors,
           coalesce(sum(h.latency_ms_sum), 0)::int8 as latency_ms_sum, coalesce(sum(h.ttft_ms_sum), 0)::int8 as ttft_ms_sum,
           coalesce(sum(h.ttft_count), 0)::int8 as ttft_count
    from listings l left join listing_hourly h on h.listing_id = l.id and h.hour >= ${fromSql}
    where l.org_id = ${orgId}::uuid and l.status <> 'draft'
    group by l.id order by l.slug`);
  const start = rows[0] ? asDate(rows[0].from_ts) : (from ?? now);
  const measured = await measuredStats(db, { from: start, providerOrgId: orgId });
  return {
    from: start,
    listings: rows.map((r) => {
      const requests = n(r.requests);
      const m = measured.get(r.listing_id);
      return {
        listingId: r.listing_id,
        slug: r.slug,
        requests,
        errorRate: requests === 0 ? null : n(r.errors) / requests,
        meanLatencyMs: requests === 0 ? null : n(r.latency_ms_sum) / requests,
        meanTtftMs: n(r.ttft_count) === 0 ? null : n(r.ttft_ms_sum) / n(r.ttft_count),
        medianOutputTokensPerSecond: m?.medianOutputTokensPerSecond ?? null,
        medianTtftMs: m?.medianTtftMs ?? null,
      };
    }),
  };
}

/** The provider's payable balance (earned, not yet paid out) and the payouts it received, from the ledger. */
export async function providerPayouts(db: DbOrTx, orgId: string) {
  const [a] = await orgAccountSums(db, { orgId, kinds: ["provider_payable"] });
  if (!a) return { payableNano: 0n, earnedNano: 0n, paidOutNano: 0n, payouts: [] };
  const [{ rows: sums }, { rows: payouts }] = await Promise.all([
    db.execute<{ earned: bigint; paid: bigint }>(sql`
      select coalesce(sum(amount_nano) filter (where credit_account_id = ${a.id}::uuid and code = 'usage'), 0)::int8 as earned,
             coalesce(sum(amount_nano) filter (where debit_account_id = ${a.id}::uuid and code = 'payout'), 0)::int8 as paid
      from ledger_transfers where (credit_account_id = ${a.id}::uuid or debit_account_id = ${a.id}::uuid) and type = 'single'`),
    db.execute<{ id: string; amount_nano: bigint; ref_id: string | null; created_at: string }>(sql`
      select id, amount_nano, ref_id, created_at from ledger_transfers
      where debit_account_id = ${a.id}::uuid and code = 'payout' and type = 'single'
      order by created_at desc, id desc limit 100`),
  ]);
  return {
    payableNano: a.creditsPosted - a.debitsPosted,
    earnedNano: sums[0]!.earned,
    paidOutNano: sums[0]!.paid,
    payouts: payouts.map((p) => ({ id: p.id, amountNano: p.amount_nano, reference: p.ref_id, createdAt: asDate(p.created_at) })),
  };
}
