import { sql } from "drizzle-orm";
import { bigint, check, doublePrecision, index, integer, jsonb, pgTable, primaryKey, smallint, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { listings } from "./catalog";
import { energySums } from "./dashboards";
import { apiKeys } from "./keys";
import { organizations } from "./orgs";

/**
 * Usage and credit control (docs/DESIGN.md "Credit control", "Usage reporting and settlement").
 *
 * The events themselves live in `usage_events`, a table partitioned by month on
 * `started_at`. Drizzle cannot declare partitioned tables, so it is created (with its
 * partitions and the partition upkeep function) by the custom migration
 * `usage_functions`, and queried with SQL in server/usage/. Its `finish_reason` and
 * `energy_joules` (the upstream's measured energy; physical, not money) came with the
 * custom migration `usage_finish_and_energy`. High-volume tables here
 * carry no foreign keys on purpose: a key check per row would cost settlement a lookup
 * per event, and organisations, keys and listings are never deleted while usage exists.
 */

/**
 * A proxy's credit reservation: a pending ledger transfer buyer_credits → usage_holds
 * of `held_nano` (hold `hold_transfer_id`) until released, consumed by settled usage,
 * or expired by the ledger's sweeper. Settlement consumes a reservation by voiding its
 * hold and re-holding the remainder, so money held is never also counted as spent.
 * Accounting: amount = consumed + released + held while the hold is open; what the
 * sweeper expired is amount − consumed − released once it has.
 */
export const reservations = pgTable(
  "reservations",
  {
    /** Caller-chosen (UUIDv7): a retried reserve returns the stored grant. */
    id: uuid().primaryKey(),
    orgId: uuid()
      .notNull()
      .references(() => organizations.id),
    keyId: uuid()
      .notNull()
      .references(() => apiKeys.id),
    /** The key's rotation family: the key spend limit counts open reservations per lineage. */
    lineageId: uuid().notNull(),
    /**
     * The provider organisation whose service token made the reservation; null for the
     * platform's proxy. A provider-run proxy may release and bill only its own reservations.
     */
    serviceOrgId: uuid().references(() => organizations.id),
    requestedNano: bigint({ mode: "bigint" }).notNull(),
    /** What was granted; 0 when refused. */
    amountNano: bigint({ mode: "bigint" }).notNull(),
    /** Why less than asked was granted: credit, key_limit or blocked. */
    limitedBy: text(),
    /** Usage settled against the hold (never more than was held). */
    consumedNano: bigint({ mode: "bigint" }).notNull().default(sql`0`),
    /** Returned by `reservations.release`. */
    releasedNano: bigint({ mode: "bigint" }).notNull().default(sql`0`),
    /** The amount of the current hold; meaningful while that hold is open. */
    heldNano: bigint({ mode: "bigint" }).notNull().default(sql`0`),
    /**
     * Provider-reported (capped) usage accepted against this reservation but not yet settled:
     * stage 1 of settlement caps the next events at held − pending_usage, the settler
     * subtracts what it consumes, so a provider's token never bills past the hold.
     */
    pendingUsageNano: bigint({ mode: "bigint" }).notNull().default(sql`0`),
    /** The current pending ledger transfer; null once nothing is held. */
    holdTransferId: uuid(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Serves the key limit check: a lineage's reservations still holding money.
    index().on(t.lineageId, t.expiresAt),
    check(
      "reservations_amounts",
      sql`${t.amountNano} >= 0 and ${t.consumedNano} >= 0 and ${t.releasedNano} >= 0 and ${t.heldNano} >= 0
          and ${t.consumedNano} + ${t.releasedNano} + ${t.heldNano} <= ${t.amountNano} and ${t.amountNano} <= ${t.requestedNano}`,
    ),
    check("reservations_pending_usage", sql`${t.pendingUsageNano} >= 0`),
    check("reservations_limited_by", sql`${t.limitedBy} is null or ${t.limitedBy} in ('credit', 'key_limit', 'blocked')`),
  ],
);

/**
 * Reports that reused a settled event's id with different fields: never billed, kept
 * for finance (one row per distinct version; `reports` counts resends of it).
 */
export const usageConflicts = pgTable(
  "usage_conflicts",
  {
    id: uuid().notNull(),
    fingerprint: uuid().notNull(),
    /** The fingerprint of the event that was settled under this id. */
    settledFingerprint: uuid().notNull(),
    /** The conflicting event as reported. */
    event: jsonb().notNull(),
    reports: integer().notNull().default(1),
    firstReportedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastReportedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.id, t.fingerprint] })],
);

/**
 * Usage an upstream reported that was not billed as reported (docs/DESIGN.md
 * "Credit control" 3): counts past the context length or max_tokens × n, or costing more
 * than the request's hold. The event was settled with the billed counts; this row keeps
 * what the provider's server claimed, for finance to review (reconciliation "anomalies").
 * One per event id: a resent event adds nothing.
 */
export const usageAnomalies = pgTable(
  "usage_anomalies",
  {
    eventId: uuid().primaryKey(),
    listingId: uuid().notNull(),
    providerOrgId: uuid().notNull(),
    keyId: uuid().notNull(),
    reason: text().notNull(),
    reportedInputTokens: bigint({ mode: "number" }).notNull(),
    reportedOutputTokens: bigint({ mode: "number" }).notNull(),
    reportedCachedInputTokens: bigint({ mode: "number" }).notNull(),
    billedInputTokens: integer().notNull(),
    billedOutputTokens: integer().notNull(),
    billedCachedInputTokens: integer().notNull(),
    billedCostNano: bigint({ mode: "bigint" }).notNull(),
    startedAt: timestamp({ withTimezone: true }).notNull(),
    recordedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  // The reconciliation report reads a period's anomalies by event time.
  (t) => [index("usage_anomalies_started_at").on(t.startedAt)],
);

/**
 * One row per accepted `usage.report` call (stage 1 of settlement, server/usage/ingest.ts):
 * its events are in usage_events with this `batch_seq`, priced, answered and committed,
 * but not yet in the ledger until a settlement window (server/usage/settler.ts) takes
 * the batch, marks it with the window's id and settles it in the same transaction.
 */
export const usageBatches = pgTable(
  "usage_batches",
  {
    seq: bigint({ mode: "number" }).primaryKey().generatedAlwaysAsIdentity(),
    receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** New events the batch added (resends and rejected events are not counted). */
    events: integer().notNull(),
    /** The usage bus shard it came from (its settler's windows take it); 0 for reports over HTTP. */
    shard: smallint().notNull().default(0),
    /** The settlement window that settled it; null while it waits. */
    windowId: uuid(),
    settledAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    // Each shard's settlement queue (a window takes one shard's oldest batches), and the ledger lag.
    index("usage_batches_unsettled").on(t.shard, t.seq).where(sql`${t.settledAt} is null`),
    // Finance: the batches (so the events) of a window, and of a period of settlement.
    index("usage_batches_window").on(t.windowId),
    index("usage_batches_settled_at").on(t.settledAt),
  ],
);

/**
 * One settlement window: every batch it took was settled into the ledger in its one
 * transaction. Its transfers carry ref ('usage_window', id): per buyer from buyer_credits
 * or buyer_receivable to usage_clearing, per provider usage_clearing → provider_payable,
 * and the fees usage_clearing → platform_revenue, so usage_clearing nets to zero in every window.
 */
export const usageWindows = pgTable(
  "usage_windows",
  {
    id: uuid().primaryKey(),
    batches: integer().notNull(),
    events: integer().notNull(),
    costNano: bigint({ mode: "bigint" }).notNull(),
    feeNano: bigint({ mode: "bigint" }).notNull(),
    /** Age of the window's oldest batch when it committed (the ledger lag it ended). */
    lagMs: integer().notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.createdAt)],
);

/**
 * One row per (settlement window, buyer organisation, provider organisation): `batch_id`
 * is the window's id (usage_windows) and the pair's events in the window's batches sum to
 * `cost_nano`. Pay-when-paid (ledger/funding-store.ts) and payout statements work per row.
 * Rows written before two-stage settlement name a batch of their own, their events carry
 * the id in `usage_events.settlement_id`, and their transfers ref ('usage_settlement', id).
 */
export const usageSettlements = pgTable(
  "usage_settlements",
  {
    id: uuid().primaryKey(),
    batchId: uuid().notNull(),
    buyerOrgId: uuid().notNull(),
    providerOrgId: uuid().notNull(),
    events: integer().notNull(),
    costNano: bigint({ mode: "bigint" }).notNull(),
    /** The platform's part of cost_nano; the provider's is the rest. */
    feeNano: bigint({ mode: "bigint" }).notNull(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Finance: settlements of a period.
    index().on(t.createdAt),
    // A refund or dispute unfunds the buyer's settlements newest first (ledger/funding-store.ts, keyset on created_at, id; read backwards).
    index("usage_settlements_buyer_newest").on(t.buyerOrgId, t.createdAt, t.id),
    // A payout statement lists the provider's settlements between two payouts (payouts/earnings.ts).
    index("usage_settlements_provider_created").on(t.providerOrgId, t.createdAt),
  ],
);

/**
 * Hourly rollups per (buyer organisation, key, listing, UTC hour), maintained by
 * settlement in its transaction, for dashboards (which never read raw events).
 */
export const usageHourly = pgTable(
  "usage_hourly",
  {
    orgId: uuid().notNull(),
    keyId: uuid().notNull(),
    listingId: uuid().notNull(),
    hour: timestamp({ withTimezone: true }).notNull(),
    requests: bigint({ mode: "bigint" }).notNull(),
    inputTokens: bigint({ mode: "bigint" }).notNull(),
    outputTokens: bigint({ mode: "bigint" }).notNull(),
    cachedInputTokens: bigint({ mode: "bigint" }).notNull(),
    costNano: bigint({ mode: "bigint" }).notNull(),
    /** Events whose status was error or aborted. */
    errors: bigint({ mode: "bigint" }).notNull(),
    /** Sum of ended_at − started_at, milliseconds. */
    latencyMsSum: bigint({ mode: "bigint" }).notNull(),
    /** Sum of first_token_at − started_at over events that had a first token, and their count. */
    ttftMsSum: bigint({ mode: "bigint" }).notNull(),
    ttftCount: bigint({ mode: "bigint" }).notNull(),
    /** The buyers' energy statement (server/economy/energy.ts energyLines): by model and key. */
    ...energySums(),
  },
  (t) => [primaryKey({ columns: [t.orgId, t.keyId, t.listingId, t.hour] })],
);

/** A provider organisation's platform fee when it differs from PLATFORM_FEE_BPS. */
export const providerFeeOverrides = pgTable(
  "provider_fee_overrides",
  {
    orgId: uuid()
      .primaryKey()
      .references(() => organizations.id),
    feeBps: integer().notNull(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check("provider_fee_overrides_bps", sql`${t.feeBps} between 0 and 10000`)],
);

/**
 * A provider's hourly meter reading for one listing (`energy.report`, server/usage/energy-report.ts):
 * the joules its hardware drew serving the listing in that UTC hour and the tokens it served.
 * Physical figures, not money. One row per (listing, hour), written once: a resend with the
 * same figures is a no-op, one with different figures is refused (the first reading stands).
 */
export const listingEnergyReadings = pgTable(
  "listing_energy_readings",
  {
    listingId: uuid()
      .notNull()
      .references(() => listings.id),
    /** The start of the UTC hour the reading covers. */
    hour: timestamp({ withTimezone: true }).notNull(),
    joules: doublePrecision().notNull(),
    tokensServed: bigint({ mode: "number" }).notNull(),
    /** The provider organisation whose service token reported it. */
    reportedBy: uuid()
      .notNull()
      .references(() => organizations.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.listingId, t.hour] }),
    check("listing_energy_readings_joules", sql`${t.joules} >= 0 and ${t.joules} < 'Infinity'::float8`),
    check("listing_energy_readings_tokens", sql`${t.tokensServed} >= 0`),
    // Whole UTC hours only (extract(epoch) does not depend on the session's time zone).
    check("listing_energy_readings_hour", sql`extract(epoch from ${t.hour}) % 3600 = 0`),
  ],
);
