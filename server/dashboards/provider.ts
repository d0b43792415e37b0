import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { measuredStats, windowStart } from "../catalog/measured";
import { asDate } from "../usage/store";
import type { PeriodParams } from "./inputs";
import { daysStartSql, n, usageByDay } from "./usage-by-day";

/** What a provider's dashboard shows of its listings: earnings per day and measured performance. */

/**
 * What the provider's listings served and earned per day (viewer's zone) and listing:
 * gross is what buyers were charged, fee the platform's part (each event's own fee, so
 * exact per listing and day), net what was credited to the provider's payable.
 */
export async function providerEarnings(db: DbOrTx, p: PeriodParams) {
  const { orgId, now = new Date() } = p;
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
export async function providerPerformance(db: DbOrTx, p: PeriodParams) {
  const { orgId, now = new Date() } = p;
  const from = p.days === 1 ? windowStart(now) : null;
  const fromSql = from ? sql`${from.toISOString()}::timestamptz` : daysStartSql(now, p.tz, p.days);
  const { rows } = await db.execute<{
    listing_id: string;
    slug: string;
    from_ts: string;
    requests: bigint;
    errors: bigint;
    latency_ms_sum: bigint;
    ttft_ms_sum: bigint;
    ttft_count: bigint;
  }>(sql`
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
