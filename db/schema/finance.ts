import { sql } from "drizzle-orm";
import { bigint, check, date, index, jsonb, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { uuidv7 } from "../../server/lib/ids";
import { users } from "./auth";
import { organizations } from "./orgs";

/**
 * Closed months. A trigger on ledger_transfers (migration finance_functions) refuses any
 * transfer whose created_at falls in [starts_at, ends_at) of a row here, so no code path
 * can post into a closed month; corrections post in the open period as reversals.
 */
export const accountingPeriods = pgTable(
  "accounting_periods",
  {
    /** First day of the month (UTC), e.g. 2026-04-01. */
    month: date().primaryKey(),
    startsAt: timestamp({ withTimezone: true }).notNull(),
    endsAt: timestamp({ withTimezone: true }).notNull(),
    closedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    closedBy: text().references(() => users.id),
    /** The reconciliation reports that passed when the month closed (figures as strings). */
    reports: jsonb().notNull(),
  },
  (t) => [check("accounting_periods_range", sql`${t.startsAt} < ${t.endsAt}`)],
);

/**
 * Money sent to a provider. The id is chosen by the caller (idempotency: a retried
 * request records one payout); the ledger transfer provider_payable → payouts refers
 * to it as ('payout', id).
 */
export const payouts = pgTable(
  "payouts",
  {
    id: uuid().primaryKey(),
    orgId: uuid()
      .notNull()
      .references(() => organizations.id),
    amountNano: bigint({ mode: "bigint" }).notNull(),
    /** The day the money left the bank (what the bank statement shows). */
    paidOn: date().notNull(),
    bankReference: text().notNull(),
    transferId: uuid().notNull().unique(),
    createdBy: text().references(() => users.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index().on(t.orgId, t.createdAt), check("payouts_amount_positive", sql`${t.amountNano} > 0`)],
);

/**
 * Sensitive actions, written in the same transaction as the change they record.
 * `orgId` is the organisation the action concerns (null for platform-wide ones).
 */
export const auditLog = pgTable(
  "audit_log",
  {
    id: uuid().primaryKey().$defaultFn(uuidv7),
    at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    actorUserId: text().references(() => users.id),
    orgId: uuid().references(() => organizations.id),
    /** e.g. price.change, key.create, key.revoke, key.rotate, member.role, member.remove, payout.record, period.close */
    action: text().notNull(),
    subjectKind: text().notNull(),
    subjectId: text().notNull(),
    before: jsonb(),
    after: jsonb(),
  },
  // The two reads: an organisation's log and the whole log, newest first.
  (t) => [index().on(t.orgId, t.at), index().on(t.at)],
);

/** Finance's review of a usage conflict reported by settlement (the conflict rows belong to settlement). */
export const usageConflictReviews = pgTable("usage_conflict_reviews", {
  conflictId: text().primaryKey(),
  reviewedBy: text().references(() => users.id),
  reviewedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  note: text().notNull(),
});
