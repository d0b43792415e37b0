import { bigint, index, pgTable, primaryKey, smallint, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * Rollups for dashboards and measured marketplace figures, maintained by settlement in
 * the same statement that inserts the events (server/usage/settlement.ts), so they are
 * exact and never read raw events. Hours are UTC hours of the events' `started_at`.
 */

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
 * values in [e^(b/20), e^((b+1)/20)): about 5 % wide (server/dashboards/histogram.ts).
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
