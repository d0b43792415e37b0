import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { orgCreditBalance } from "../credits/postings";
import { listKeys } from "../keys/service";
import { pgArray } from "../lib/pg-array";
import { asDate } from "../usage/store";
import type { OrgScope, OverviewParams, PeriodParams, SeriesParams } from "./inputs";
import { burnRatePerDayNano, daysOfCreditLeft, usageEnergy } from "./rules";
import { big, BY_KEY, BY_LISTING, daysStartSql, n, usageByDay } from "./usage-by-day";

/** What a buyer's dashboard shows: balance and burn, spend over time, energy, each key's spend. */

const BURN_DAYS = 7;

/** Balance, spend today / this month (viewer's days), 7-day burn rate and the days of credit it leaves. */
export async function buyerOverview(db: DbOrTx, p: OverviewParams) {
  const { orgId, now = new Date() } = p;
  const nowText = now.toISOString();
  const today = sql`date_trunc('day', ${nowText}::timestamptz, ${p.tz})`;
  const month = sql`date_trunc('month', ${nowText}::timestamptz, ${p.tz})`;
  const [balance, { rows }] = await Promise.all([
    orgCreditBalance(db, { orgId }),
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
export async function buyerSeries(db: DbOrTx, p: SeriesParams) {
  const { orgId, now = new Date() } = p;
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
  const { rows } = await db.execute<{
    bucket: string;
    group_id: string;
    requests: bigint;
    input_tokens: bigint;
    output_tokens: bigint;
    cached_input_tokens: bigint;
    cost_nano: bigint;
  }>(sql`
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

/** Energy of the organisation's usage per listing over the period, from each listing's declared tokens per watt and grid carbon. */
export async function buyerEnergy(db: DbOrTx, p: PeriodParams) {
  const { orgId, now = new Date() } = p;
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
export async function keySpend(db: DbOrTx, p: OrgScope) {
  const { orgId, now = new Date() } = p;
  const keys = await listKeys(db, { orgId, now });
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
