import { sql, type SQL } from "drizzle-orm";
import { windowStart } from "../catalog/measured";
import type { MarketplaceSort } from "../catalog/inputs";
import { BUCKETS_PER_E } from "../rollups/histogram";
import { MIN_ENERGY_SAMPLE_TOKENS } from "./energy";
import { STANDARD_CONVERSATION } from "./standard-conversation";
import { economyFrom, listingCputSql, listingEnergySql } from "./store";
import { type EconomyWindow, ENERGY_WINDOW_HOURS } from "./windows";

/**
 * The marketplace's token-economy sorts as SQL over a matched listing `m` (its current prices,
 * measured median buckets, `cput_1m` and `measured_tpj`), best first.
 */

/**
 * The standard conversation's cost before rounding (750·p_in + 250·p_out, nano-USD × 1000): rounding
 * half-even to whole nano-USD never reorders two listings, so this sorts like standardConversationCostNano.
 */
export const standardCostSql = sql`(${STANDARD_CONVERSATION.inputTokens}::numeric * m.input_per1k_nano + ${STANDARD_CONVERSATION.outputTokens}::numeric * m.output_per1k_nano) asc`;

/** A median bucket's value, the twin of bucketValue (server/rollups/histogram.ts). */
// Numbers interpolated into `sql` become parameters: cast them, never append ".0" to a placeholder.
const bucketValueSql = (b: SQL) => sql`exp((${b} + 0.5) / ${BUCKETS_PER_E}::float8)`;

/** The standard conversation's latency (standardConversationLatencyMs) from the median buckets; null below either minimum sample. */
export const standardLatencySql = sql`(${bucketValueSql(sql`m.ttft_bucket`)} + ${STANDARD_CONVERSATION.outputTokens}::float8 / ${bucketValueSql(sql`m.tps_bucket`)} * 1000) asc nulls last`;

/** Sorts that read CPUT or measured energy (the others skip joining them). */
const cputSorts: ReadonlySet<MarketplaceSort> = new Set(["cput"]);
const energySorts: ReadonlySet<MarketplaceSort> = new Set(["tokensPerWatt", "whPer1M"]);

/**
 * The join giving every match `ec.cput_1m` (over `window`) and `ec.measured_tpj` (over 30 days, only past
 * MIN_ENERGY_SAMPLE_TOKENS), or nulls without reading anything when the sort needs neither.
 */
export function economyJoinSql(sort: MarketplaceSort, window: EconomyWindow, now: Date): SQL {
  if (cputSorts.has(sort))
    return sql`left join (select listing_id, cput_1m, null::float8 as measured_tpj from (${listingCputSql(economyFrom(now, window))}) c) ec on ec.listing_id = l.id`;
  if (energySorts.has(sort)) {
    return sql`left join (select listing_id, null::numeric as cput_1m, tokens / joules as measured_tpj from (${listingEnergySql(windowStart(now, ENERGY_WINDOW_HOURS))}) e
                          where tokens >= ${MIN_ENERGY_SAMPLE_TOKENS}) ec on ec.listing_id = l.id`;
  }
  return sql`left join (select null::uuid as listing_id, null::numeric as cput_1m, null::float8 as measured_tpj) ec on false`;
}
