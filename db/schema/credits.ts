import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, integer, jsonb, pgEnum, pgSequence, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { users } from "./auth";
import { organizations } from "./orgs";

/** `expired`: Stripe expired the session, or an open one passed 24 hours (as Stripe sessions do); `canceled`: the buyer gave up on it. */
export const topupStatus = pgEnum("topup_status", ["open", "paid", "failed", "expired", "canceled"]);
export const paymentMode = pgEnum("payment_mode", ["stripe", "local"]);
export const receiptNumbers = pgSequence("receipt_number_seq", { startWith: 1000 });

/**
 * A buyer's request to add credit. Its id is the Checkout idempotency key and
 * travels in the session's metadata; the ledger is credited only from webhooks.
 */
export const topups = pgTable(
  "topups",
  {
    id: uuid().primaryKey(),
    orgId: uuid()
      .notNull()
      .references(() => organizations.id),
    createdBy: text().references(() => users.id),
    amountCents: integer().notNull(),
    currency: text().notNull().default("usd"),
    mode: paymentMode().notNull(),
    status: topupStatus().notNull().default("open"),
    checkoutSessionId: text().unique(),
    paymentIntentId: text().unique(),
    checkoutUrl: text(),
    /** Assigned when paid, from receipt_number_seq. */
    receiptNumber: integer().unique(),
    /** Cumulative refunds and disputes applied, as seen in Stripe's objects (cents). */
    refundedCents: integer().notNull().default(0),
    paidAt: timestamp({ withTimezone: true }),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.orgId, t.createdAt), check("topups_amount_positive", sql`${t.amountCents} > 0`)],
);

/** Every webhook event received, verified, stored once (Stripe's event id is the key). */
export const stripeEvents = pgTable("stripe_events", {
  id: text().primaryKey(),
  type: text().notNull(),
  livemode: boolean().notNull(),
  local: boolean().notNull(),
  payload: jsonb().notNull(),
  receivedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  processedAt: timestamp({ withTimezone: true }),
  lastError: text(),
});

export const adjustmentKind = pgEnum("payment_adjustment_kind", ["refund", "dispute_opened", "dispute_fee", "dispute_won"]);

/**
 * Refunds and disputes applied to a top-up, one row per ledger effect, keyed
 * by Stripe's object so a redelivered or reordered event applies once.
 */
export const paymentAdjustments = pgTable(
  "payment_adjustments",
  {
    id: uuid().primaryKey(),
    topupId: uuid()
      .notNull()
      .references(() => topups.id),
    kind: adjustmentKind().notNull(),
    /** Stripe's id of what caused it: charge (with cumulative amount) or dispute. */
    externalId: text().notNull(),
    amountNano: bigint({ mode: "bigint" }).notNull(),
    stripeEventId: text()
      .notNull()
      .references(() => stripeEvents.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex().on(t.kind, t.externalId), index().on(t.topupId)],
);

export const creditSettings = pgTable("credit_settings", {
  orgId: uuid()
    .primaryKey()
    .references(() => organizations.id),
  /** Below this available balance the console shows a low-balance banner. */
  lowBalanceThresholdNano: bigint({ mode: "bigint" }).notNull(),
});
