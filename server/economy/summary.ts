import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { measuredBucketsSql, windowStart } from "../catalog/measured";
import { pgArray } from "../lib/pg-array";
import { bucketValue } from "../rollups/histogram";
import { type Cput, MIN_CPUT_REQUESTS } from "./cput";
import { energyVerdict, MIN_ENERGY_SAMPLE_TOKENS, measuredTokensPerJoule } from "./energy";
import { standardLatencySql } from "./sort-sql";
import { standardConversationLatencyMs } from "./standard-conversation";
import { cputOf, economyFrom, type ListingEnergy, listingCputSql, listingEnergySql } from "./store";
import { ECONOMY_WINDOWS, type EconomyWindow, ENERGY_WINDOW_HOURS, economyWindows } from "./windows";

/**
 * The per-listing summary the marketplace reads (listing_economy): each listing's CPUT sums over
 * every window, its measured energy over 30 days and its latency medians over 24 h, computed by
 * the same SQL the live figures use (./store.ts, ../catalog/measured.ts) and rebuilt whole by the
 * worker every ECONOMY_REFRESH_SECONDS. Sorting 10 000 listings then reads one row each instead of
 * aggregating a week of hourly rollups per request; the price is figures up to one period old,
 * which the pages state ("as of HH:MM").
 */

// Any constant shared by the refreshers: two workers rebuilding at once would only waste work.
const REFRESH_LOCK = 0x7e_c0_5a_11;

/**
 * Rebuilds listing_economy as of `now`, in one transaction (readers see the old or the new
 * summary, never half of each). Returns false without waiting when another refresh is running.
 */
export async function refreshListingEconomy(db: DbOrTx, now = new Date()): Promise<boolean> {
  const cputs = economyWindows.map((w) => sql`select ${ECONOMY_WINDOWS[w]}::int2 as window_hours, c.* from (${listingCputSql(economyFrom(now, w))}) c`);
  const windows = sql.join(
    economyWindows.map((w) => sql`(${ECONOMY_WINDOWS[w]}::int2)`),
    sql`, `,
  );
  return db.transaction(async (tx) => {
    const { rows } = await tx.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(${REFRESH_LOCK}) as locked`);
    if (!rows[0]?.locked) return false;
    await tx.execute(sql`delete from listing_economy`);
    await tx.execute(sql`
      with c as (${sql.join(cputs, sql` union all `)}),
      e as (${listingEnergySql(windowStart(now, ENERGY_WINDOW_HOURS))}),
      ms as (${measuredBucketsSql(windowStart(now))}),
      ids as (select listing_id from c union select listing_id from e union select listing_id from ms)
      insert into listing_economy (window_hours, listing_id, requests, cost_nano, wasted_cost_nano, useful_output_tokens, input_cost_nano,
                                   cput_per1m, energy_tokens, energy_joules, energy_hours, measured_tpj, ttft_bucket, tps_bucket, standard_latency_ms, refreshed_at)
      select w.window_hours, ids.listing_id, coalesce(c.requests, 0), coalesce(c.cost_nano, 0), coalesce(c.wasted_nano, 0), coalesce(c.useful, 0),
             coalesce(c.input_cost_nano, 0), c.cput_1m,
             coalesce(e.tokens, 0), coalesce(e.joules, 0), coalesce(e.hours, 0),
             case when e.tokens >= ${MIN_ENERGY_SAMPLE_TOKENS} then e.tokens / e.joules end,
             ms.ttft_bucket, ms.tps_bucket, ${standardLatencySql(sql`ms.ttft_bucket`, sql`ms.tps_bucket`)},
             ${now.toISOString()}::timestamptz
      from ids cross join (values ${windows}) w(window_hours)
      left join c on c.listing_id = ids.listing_id and c.window_hours = w.window_hours
      left join e on e.listing_id = ids.listing_id
      left join ms on ms.listing_id = ids.listing_id`);
    return true;
  });
}

/** When the summary was last rebuilt (null before the first rebuild, or when no listing has traffic). */
export async function economyAsOf(db: DbOrTx): Promise<Date | null> {
  // A rebuild writes every row with the same refreshed_at, so any row tells.
  const { rows } = await db.execute<{ at: string | Date | null }>(sql`select refreshed_at as at from listing_economy limit 1`);
  return rows[0]?.at ? new Date(rows[0].at) : null;
}

/** Rebuilds the summary when its last rebuild is older than `maxAgeSeconds` (the worker's tick). */
export async function refreshListingEconomyIfStale(db: DbOrTx, p: { now?: Date; maxAgeSeconds: number }): Promise<boolean> {
  const now = p.now ?? new Date();
  const asOf = await economyAsOf(db);
  // A summary stamped ahead of this clock (another worker's, set ahead) is stale too, or it would stand until then.
  if (asOf && Math.abs(now.getTime() - asOf.getTime()) < p.maxAgeSeconds * 1000) return false;
  return refreshListingEconomy(db, now);
}

type SummaryRow = {
  listing_id: string;
  declared: number | null;
  requests: bigint | null;
  cost_nano: bigint | null;
  wasted_cost_nano: bigint | null;
  useful_output_tokens: bigint | null;
  input_cost_nano: bigint | null;
  energy_tokens: number | null;
  energy_joules: number | null;
  energy_hours: number | null;
  ttft_bucket: number | null;
  tps_bucket: number | null;
};

const noTraffic: Cput = { state: "insufficient-sample", requests: 0, minimum: MIN_CPUT_REQUESTS };

/**
 * Each listing's CPUT over `window`, measured energy and standard-conversation latency (from the 24 h medians
 * the latency sort ranks by), as of the last rebuild; listings without a row have no traffic.
 */
export async function summaryFigures(
  db: DbOrTx,
  p: { listingIds: readonly string[]; window: EconomyWindow },
): Promise<Map<string, { cput: Cput; energy: ListingEnergy; latencyMs: number | null }>> {
  if (p.listingIds.length === 0) return new Map();
  const { rows } = await db.execute<SummaryRow>(sql`
    select l.id as listing_id, l.tokens_per_watt as declared, e.requests, e.cost_nano, e.wasted_cost_nano, e.useful_output_tokens,
           e.input_cost_nano, e.energy_tokens, e.energy_joules, e.energy_hours, e.ttft_bucket, e.tps_bucket
    from listings l left join listing_economy e on e.listing_id = l.id and e.window_hours = ${ECONOMY_WINDOWS[p.window]}
    where l.id = any(${pgArray([...p.listingIds])}::uuid[])`);
  return new Map(
    rows.map((r) => {
      const cput =
        r.requests === null
          ? noTraffic
          : cputOf({
              requests: r.requests,
              cost_nano: r.cost_nano!,
              wasted_nano: r.wasted_cost_nano!,
              useful: r.useful_output_tokens!,
              input_cost_nano: r.input_cost_nano!,
            });
      const sample = { tokens: Number(r.energy_tokens ?? 0), joules: Number(r.energy_joules ?? 0) };
      const tpj = measuredTokensPerJoule(sample);
      const energy = { tokensPerJoule: tpj, sampleTokens: sample.tokens, hours: r.energy_hours ?? 0, verdict: energyVerdict(tpj, sample.tokens, r.declared) };
      const median = (b: number | null) => (b === null ? null : bucketValue(Number(b)));
      return [r.listing_id, { cput, energy, latencyMs: standardConversationLatencyMs(median(r.ttft_bucket), median(r.tps_bucket)) }];
    }),
  );
}
