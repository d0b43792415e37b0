import { sql, type SQL } from "drizzle-orm";
import { LATE_CUTS, LISTING_METRICS, ORG_USAGE_METRICS } from "../rollups/late-parts";

/**
 * Buyer usage and provider earnings dashboards. Every figure comes from the rollups
 * settlement maintains (org_usage_hourly, listing_hourly, listing_latency_hourly) or the
 * ledger, except the activity log, which pages raw events through their
 * (org_id, started_at, id) index. Periods are whole days (or hours) in the viewer's
 * time zone. Rollups are UTC hours; in zones whose midnight falls inside a UTC hour (India
 * +5:30, Nepal +5:45, Newfoundland −3:30, …) the hours holding a midnight are split by the
 * rollups' late parts (see usageByDay): days are exact in those zones too.
 */

/** org_usage_hourly.dimension: what group_id is. */
export const BY_LISTING = 1;
export const BY_KEY = 2;

/** First instant of the day `days − 1` days before today, in `tz` (so `days` calendar days, today included). */
export const daysStartSql = (now: Date, tz: string, days: number): SQL =>
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

export type UsageSource = { kind: "buyer"; orgId: string; dimension: typeof BY_LISTING | typeof BY_KEY } | { kind: "provider"; orgId: string };

/** The columns of usageByDay's rows after (t, group_id): every day-relevant sum a rollup keeps. */
const SPLIT_METRICS = Object.keys(LISTING_METRICS);

/**
 * Usage since `from` (a local midnight of `tz`) from the hourly rollups, as rows (t, group_id,
 * requests, errors, input_tokens, output_tokens, cached_input_tokens, cost_nano, fee_nano)
 * whose `t` falls on the right local day: an hour holding a midnight at :15 or :30 is split
 * there by its late parts (server/rollups/late-parts.ts) into a row at the hour and a row at the midnight.
 * A buyer's rows are grouped by listing or key (org_usage_hourly keeps no errors or fees:
 * they read 0); a provider's by listing. (A midnight at another minute, which no zone has
 * today, would leave its hour whole on the earlier day.)
 */
export function usageByDay(source: UsageSource, tz: string, from: SQL, now: Date): SQL {
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

export const n = (v: bigint | number | string | null) => Number(v ?? 0);
export const big = (v: bigint | number | string | null) => BigInt(v ?? 0);
