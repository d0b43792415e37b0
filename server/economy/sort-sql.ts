import { sql, type SQL } from "drizzle-orm";
import type { MarketplaceSort } from "../catalog/inputs";
import { BUCKETS_PER_E } from "../rollups/histogram";
import { STANDARD_CONVERSATION } from "./standard-conversation";
import { ECONOMY_WINDOWS, type EconomyWindow } from "./windows";

/**
 * The marketplace's token-economy sorts as SQL over a matched listing `m` (its current prices and
 * its listing_economy columns), best first.
 */

/**
 * The standard conversation's cost before rounding (750·p_in + 250·p_out, nano-USD × 1000): rounding
 * half-even to whole nano-USD never reorders two listings, so this sorts like standardConversationCostNano.
 */
export const standardCostSql = sql`(${STANDARD_CONVERSATION.inputTokens}::numeric * m.input_per1k_nano + ${STANDARD_CONVERSATION.outputTokens}::numeric * m.output_per1k_nano) asc`;

/** A median bucket's value, the twin of bucketValue (server/rollups/histogram.ts). */
// Numbers interpolated into `sql` become parameters: cast them, never append ".0" to a placeholder.
const bucketValueSql = (b: SQL) => sql`exp((${b} + 0.5) / ${BUCKETS_PER_E}::float8)`;

/**
 * The standard conversation's latency (standardConversationLatencyMs) from median buckets of time to first
 * token and throughput; null when either is (below its minimum sample). listing_economy stores it per listing.
 */
export const standardLatencySql = (ttftBucket: SQL, tpsBucket: SQL) =>
  sql`${bucketValueSql(ttftBucket)} + ${STANDARD_CONVERSATION.outputTokens}::float8 / ${bucketValueSql(tpsBucket)} * 1000`;

/** Sorts that read the listing_economy summary (the others skip joining it). */
const summarySorts: ReadonlySet<MarketplaceSort> = new Set(["cput", "tokensPerWatt", "whPer1M", "throughput", "ttft", "standardLatency"]);

/**
 * The join giving every match its listing_economy row for `window` as `ec` (CPUT over the window,
 * measured energy over 30 days, latency medians over 24 h), or nulls without reading anything
 * when the sort needs none of them.
 */
export function economyJoinSql(sort: MarketplaceSort, window: EconomyWindow): SQL {
  if (summarySorts.has(sort)) return sql`left join listing_economy ec on ec.listing_id = l.id and ec.window_hours = ${ECONOMY_WINDOWS[window]}::int2`;
  return sql`left join (select null::uuid as listing_id, null::numeric as cput_per1m, null::float8 as measured_tpj, null::int2 as ttft_bucket,
                               null::int2 as tps_bucket, null::float8 as standard_latency_ms) ec on false`;
}
