import { sql } from "drizzle-orm";
import { bigint, doublePrecision, index, integer, numeric, pgTable, primaryKey, smallint, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Rollups for dashboards and measured marketplace figures, maintained by settlement in
 * the same statement that inserts the events (server/usage/settlement.ts), so they are
 * exact and never read raw events. Hours are UTC hours of the events' `started_at`.
 *
 * In zones whose midnight falls at :15 or :30 of a UTC hour (Nepal +5:45, India +5:30,
 * Newfoundland −3:30, central Australia, …) that hour belongs to two days, so each
 * day-relevant sum is also kept for the events that started at or after :15 and :30
 * (`…After15`, `…After30`): the dashboards split the hour at the midnight without reading
 * raw events.
 */

const late = () => bigint({ mode: "bigint" }).notNull().default(sql`0`);

/**
 * The token economy's sums (server/economy/, server/rollups/upserts.ts): output tokens of useful
 * events (ok with a normal finish, isUsefulEvent), the cost of the events that were not useful, the
 * part of the cost billed for input,
 * and for events that reported their energy, their tokens (input + output + cached) and joules.
 */
const usefulSums = () => ({
  usefulOutputTokens: bigint({ mode: "bigint" }).notNull().default(sql`0`),
  wastedCostNano: bigint({ mode: "bigint" }).notNull().default(sql`0`),
  /** The part of cost_nano billed for input (cached input at its own price): inputCostNano (server/economy/cput.ts) per event. */
  inputCostNano: bigint({ mode: "bigint" }).notNull().default(sql`0`),
});
export const energySums = () => ({
  energyTokens: bigint({ mode: "bigint" }).notNull().default(sql`0`),
  energyJoules: doublePrecision().notNull().default(0),
});
/** The same sums over the events that started at or after :15 and at or after :30 of the hour. */
function lateParts<K extends string>(...metrics: K[]) {
  return Object.fromEntries(
    metrics.flatMap((m) => [
      [`${m}After15`, late()],
      [`${m}After30`, late()],
    ]),
  ) as Record<`${K}After15` | `${K}After30`, ReturnType<typeof late>>;
}

/**
 * Per (buyer organisation, dimension, listing or key, hour): the buyer's usage split one
 * way at a time. usage_hourly splits by key × listing at once, which multiplies its rows
 * (a buyer with 10 keys on 20 models has up to 200 per hour); the buyer's charts and
 * overview read this narrower table instead (bench/dashboards.ts).
 * dimension 1: group_id is a listing; dimension 2: group_id is an API key.
 */
export const orgUsageHourly = pgTable(
  "org_usage_hourly",
  {
    orgId: uuid().notNull(),
    dimension: smallint().notNull(),
    hour: timestamp({ withTimezone: true }).notNull(),
    groupId: uuid().notNull(),
    requests: bigint({ mode: "bigint" }).notNull(),
    inputTokens: bigint({ mode: "bigint" }).notNull(),
    outputTokens: bigint({ mode: "bigint" }).notNull(),
    cachedInputTokens: bigint({ mode: "bigint" }).notNull(),
    costNano: bigint({ mode: "bigint" }).notNull(),
    ...usefulSums(),
    ...lateParts("requests", "inputTokens", "outputTokens", "cachedInputTokens", "costNano"),
  },
  // Serves "this organisation's hours since t, split by listing (or key)".
  (t) => [primaryKey({ columns: [t.orgId, t.dimension, t.hour, t.groupId] })],
);

/**
 * Per (listing, hour): what the listing served and earned. `fee_nano` is the sum of the
 * events' own fees, so cost − fee is exactly what the provider's payable was credited.
 */
export const listingHourly = pgTable(
  "listing_hourly",
  {
    listingId: uuid().notNull(),
    hour: timestamp({ withTimezone: true }).notNull(),
    providerOrgId: uuid().notNull(),
    requests: bigint({ mode: "bigint" }).notNull(),
    /** Events whose status was error or aborted. */
    errors: bigint({ mode: "bigint" }).notNull(),
    inputTokens: bigint({ mode: "bigint" }).notNull(),
    outputTokens: bigint({ mode: "bigint" }).notNull(),
    cachedInputTokens: bigint({ mode: "bigint" }).notNull(),
    costNano: bigint({ mode: "bigint" }).notNull(),
    feeNano: bigint({ mode: "bigint" }).notNull(),
    /** Sum of ended_at − started_at, milliseconds. */
    latencyMsSum: bigint({ mode: "bigint" }).notNull(),
    /** Sum of first_token_at − started_at over events that had a first token, and their count. */
    ttftMsSum: bigint({ mode: "bigint" }).notNull(),
    ttftCount: bigint({ mode: "bigint" }).notNull(),
    ...usefulSums(),
    ...energySums(),
    ...lateParts("requests", "errors", "inputTokens", "outputTokens", "cachedInputTokens", "costNano", "feeNano"),
  },
  (t) => [
    primaryKey({ columns: [t.listingId, t.hour] }),
    // The earnings page: one provider's listings over a period.
    index().on(t.providerOrgId, t.hour),
  ],
);

/**
 * Per (listing, hour, metric, bucket): how many events fell in a log-scale bucket, so
 * medians over any span of hours come from a few hundred rows instead of the events.
 * metric 1: time to first token (ms); metric 2: output tokens per second. Bucket b holds
 * values in [e^(b/20), e^((b+1)/20)): about 5 % wide (server/rollups/histogram.ts).
 */
export const listingLatencyHourly = pgTable(
  "listing_latency_hourly",
  {
    listingId: uuid().notNull(),
    hour: timestamp({ withTimezone: true }).notNull(),
    metric: smallint().notNull(),
    bucket: smallint().notNull(),
    events: bigint({ mode: "bigint" }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.listingId, t.hour, t.metric, t.bucket] }), index().on(t.hour)],
);

/**
 * Per (CPUT window, listing): the marketplace's token-economy figures, one row to read per listing
 * instead of aggregating hours of rollups per request (bench/catalog.ts). The worker rebuilds it
 * every ECONOMY_REFRESH_SECONDS from listing_hourly, listing_latency_hourly and providers' meter
 * readings (server/economy/summary.ts); `refreshed_at` is the "as of" the pages show.
 * window_hours is the CPUT window (24, 168 or 720); the energy sums always cover 30 days and the
 * latency medians 24 hours, the same on each window's row, so one row serves every sort.
 */
export const listingEconomy = pgTable(
  "listing_economy",
  {
    windowHours: smallint().notNull(),
    listingId: uuid().notNull(),
    requests: bigint({ mode: "bigint" }).notNull(),
    costNano: bigint({ mode: "bigint" }).notNull(),
    wastedCostNano: bigint({ mode: "bigint" }).notNull(),
    usefulOutputTokens: bigint({ mode: "bigint" }).notNull(),
    /** The part of cost_nano billed for input tokens (cached ones included). */
    inputCostNano: bigint({ mode: "bigint" }).notNull(),
    /** billed · 1e6 / useful, unrounded (orders like the rounded CPUT); null below the minimum sample or without useful output. */
    cputPer1m: numeric(),
    energyTokens: doublePrecision().notNull(),
    energyJoules: doublePrecision().notNull(),
    energyHours: integer().notNull(),
    /** tokens / joules, only past MIN_ENERGY_SAMPLE_TOKENS (what "most efficient" ranks by). */
    measuredTpj: doublePrecision(),
    /** Median buckets of time to first token and output tokens per second over 24 h; null below the minimum sample. */
    ttftBucket: smallint(),
    tpsBucket: smallint(),
    /** The standard conversation's latency from those medians, ms; null when either is. */
    standardLatencyMs: doublePrecision(),
    refreshedAt: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.windowHours, t.listingId] }),
    // One per marketplace sort that reads this table.
    index().on(t.windowHours, t.cputPer1m),
    index().on(t.windowHours, t.measuredTpj),
    index().on(t.windowHours, t.tpsBucket),
    index().on(t.windowHours, t.ttftBucket),
    index().on(t.windowHours, t.standardLatencyMs),
  ],
);
