import { sql, type SQL } from "drizzle-orm";
import { addCounts } from "../lib/upsert";
import { NORMAL_FINISH_REASONS } from "../economy/cput";
import { lateColumns, lateSums, LISTING_METRICS, ORG_USAGE_METRICS } from "./late-parts";

/**
 * The dashboards' hourly rollups as settlement's window adds to them (server/usage/settler.ts):
 * CTEs over a CTE named `ev` holding the window's events with their derived values computed
 * once per event (the columns of USAGE_EVENT_DERIVED), each aggregating the whole window
 * into one upsert per key, so a row shared by many batches is written once per window.
 */

/**
 * Whether event `e` was useful (the SQL twin of isUsefulEvent, server/economy/cput.ts): ok with a
 * normal finish, or no finish reason reported.
 */
const USEFUL_EVENT_SQL = `(e.status = 'ok' AND coalesce(e.finish_reason, 'unknown') IN (${NORMAL_FINISH_REASONS.map((r) => `'${r}'`).join(", ")}))`;

/** Token-economy sums over `ev` (db/schema/dashboards.ts usefulSums): useful output tokens and the cost of the rest. */
const USEFUL_SUMS =
  "coalesce(sum(output_tokens) FILTER (WHERE useful), 0)::int8, coalesce(sum(cost_nano) FILTER (WHERE NOT useful), 0)::int8, sum(input_cost_nano)::int8";
/** Energy sums over `ev` (energySums): tokens and joules of events that reported energy. */
const ENERGY_SUMS = "sum(energy_tokens)::int8, sum(energy_joules)::float8";

/**
 * Per-event values the rollups read, as select-list items over usage_events `e`. The input cost is the one
 * stage 1 stored when it priced the event (server/usage/ingest.ts), so the window joins no price version.
 */
export const USAGE_EVENT_DERIVED = sql.raw(`date_trunc('hour', e.started_at, 'UTC') AS hour,
  extract(minute FROM e.started_at AT TIME ZONE 'UTC') AS minute,
  (extract(epoch FROM e.ended_at - e.started_at) * 1000)::int8 AS latency_ms,
  extract(epoch FROM e.first_token_at - e.started_at) * 1000 AS ttft_exact_ms,
  CASE WHEN e.output_tokens > 0 AND e.ended_at > coalesce(e.first_token_at, e.started_at)
       THEN e.output_tokens / extract(epoch FROM e.ended_at - coalesce(e.first_token_at, e.started_at)) END AS tokens_per_second,
  ${USEFUL_EVENT_SQL} AS useful,
  CASE WHEN e.energy_joules IS NOT NULL THEN e.input_tokens + e.output_tokens + e.cached_input_tokens ELSE 0 END AS energy_tokens,
  coalesce(e.energy_joules, 0) AS energy_joules,
  e.input_cost_nano`);

/** org_usage_hourly, listing_hourly, listing_latency_hourly and usage_hourly, as CTEs (`name AS (…)`, comma-separated). */
export function rollupUpserts(): SQL {
  return sql`
org_rollup AS (
  INSERT INTO org_usage_hourly (org_id, dimension, hour, group_id, requests, input_tokens, output_tokens, cached_input_tokens, cost_nano,
                                useful_output_tokens, wasted_cost_nano, input_cost_nano, ${sql.raw(lateColumns(ORG_USAGE_METRICS).join(", "))})
  SELECT org_id, d.dimension, hour, d.group_id, count(*), sum(input_tokens), sum(output_tokens),
         sum(cached_input_tokens), sum(cost_nano)::int8, ${sql.raw(USEFUL_SUMS)}, ${sql.raw(lateSums(ORG_USAGE_METRICS, "minute").join(", "))}
  FROM ev CROSS JOIN LATERAL (VALUES (1::smallint, ev.listing_id), (2::smallint, ev.key_id)) AS d(dimension, group_id)
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (org_id, dimension, hour, group_id) DO UPDATE SET ${addCounts("org_usage_hourly", [
    "requests",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cost_nano",
    "useful_output_tokens",
    "wasted_cost_nano",
    "input_cost_nano",
    ...lateColumns(ORG_USAGE_METRICS),
  ])}
),
listing_rollup AS (
  INSERT INTO listing_hourly (listing_id, hour, provider_org_id, requests, errors, input_tokens, output_tokens, cached_input_tokens,
                              cost_nano, fee_nano, latency_ms_sum, ttft_ms_sum, ttft_count, useful_output_tokens, wasted_cost_nano, input_cost_nano,
                              energy_tokens, energy_joules, ${sql.raw(lateColumns(LISTING_METRICS).join(", "))})
  SELECT listing_id, hour, provider_org_id, count(*), count(*) FILTER (WHERE status <> 'ok'),
         sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cost_nano)::int8, sum(fee_nano)::int8,
         coalesce(sum(latency_ms), 0)::int8, coalesce(sum(ttft_exact_ms::int8), 0)::int8, count(ttft_exact_ms),
         ${sql.raw(USEFUL_SUMS)}, ${sql.raw(ENERGY_SUMS)}, ${sql.raw(lateSums(LISTING_METRICS, "minute").join(", "))}
  FROM ev GROUP BY 1, 2, 3 ORDER BY 1, 2
  ON CONFLICT (listing_id, hour) DO UPDATE SET ${addCounts("listing_hourly", [
    "requests",
    "errors",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cost_nano",
    "fee_nano",
    "latency_ms_sum",
    "ttft_ms_sum",
    "ttft_count",
    "useful_output_tokens",
    "wasted_cost_nano",
    "input_cost_nano",
    "energy_tokens",
    "energy_joules",
    ...lateColumns(LISTING_METRICS),
  ])}
),
-- Measured marketplace figures (./histogram.ts): time to first token (ms) and output tokens/s of ok events.
latency_rollup AS (
  INSERT INTO listing_latency_hourly (listing_id, hour, metric, bucket, events)
  SELECT listing_id, hour, m.metric, tm_hist_bucket(m.v), count(*)
  FROM ev CROSS JOIN LATERAL (VALUES (1::smallint, ttft_exact_ms), (2::smallint, tokens_per_second)) AS m(metric, v)
  WHERE status = 'ok' AND m.v IS NOT NULL
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (listing_id, hour, metric, bucket) DO UPDATE SET ${addCounts("listing_latency_hourly", ["events"])}
),
usage_rollup AS (
  INSERT INTO usage_hourly (org_id, key_id, listing_id, hour, requests, input_tokens, output_tokens, cached_input_tokens, cost_nano,
                            errors, latency_ms_sum, ttft_ms_sum, ttft_count, energy_tokens, energy_joules)
  SELECT org_id, key_id, listing_id, hour, count(*), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cost_nano)::int8,
         count(*) FILTER (WHERE status <> 'ok'), coalesce(sum(latency_ms), 0)::int8, coalesce(sum(ttft_exact_ms::int8), 0)::int8, count(ttft_exact_ms),
         ${sql.raw(ENERGY_SUMS)}
  FROM ev GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (org_id, key_id, listing_id, hour) DO UPDATE SET ${addCounts("usage_hourly", [
    "requests",
    "input_tokens",
    "output_tokens",
    "cached_input_tokens",
    "cost_nano",
    "errors",
    "latency_ms_sum",
    "ttft_ms_sum",
    "ttft_count",
    "energy_tokens",
    "energy_joules",
  ])}
)`;
}
