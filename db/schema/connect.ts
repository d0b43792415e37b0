import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { users } from "./auth";
import { organizations } from "./orgs";

/**
 * A provider's Stripe Connect (Express) account. Its state is Stripe's, learnt from
 * `account.updated` events: applied only when newer than what is stored (events arrive in
 * any order). `local` accounts belong to the built-in stand-in used without Stripe keys.
 */
export const connectAccounts = pgTable("connect_accounts", {
  orgId: uuid()
    .primaryKey()
    .references(() => organizations.id),
  stripeAccountId: text().notNull().unique(),
  local: boolean().notNull(),
  detailsSubmitted: boolean().notNull().default(false),
  payoutsEnabled: boolean().notNull().default(false),
  /** `created` of the account.updated event the state above came from (seconds since the epoch). */
  stateAsOf: bigint({ mode: "number" }).notNull().default(0),
  createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
});

/**
 * created: the ledger has moved the amount provider_payable → payouts, the Stripe Transfer
 * may or may not exist yet (a run resumes these); in_transit: Stripe made the transfer;
 * paid / failed: the connected account's bank payout; reversed: Stripe reversed the transfer.
 * failed and reversed returned the amount to the provider's funded payable.
 */
export const connectPayoutStatus = pgEnum("connect_payout_status", ["created", "in_transit", "paid", "failed", "reversed"]);
export type ConnectPayoutStatus = (typeof connectPayoutStatus.enumValues)[number];

/**
 * A payout through Stripe Connect. The id is the payout's and the Stripe idempotency key;
 * the ledger transfer provider_payable → payouts refers to it as ('connect_payout', id).
 */
export const connectPayouts = pgTable(
  "connect_payouts",
  {
    id: uuid().primaryKey(),
    /** The run that made it (a run id pays each provider at most once). */
    runId: uuid().notNull(),
    orgId: uuid()
      .notNull()
      .references(() => organizations.id),
    stripeAccountId: text().notNull(),
    /** Whole cents: what Stripe moves. */
    amountCents: bigint({ mode: "number" }).notNull(),
    status: connectPayoutStatus().notNull().default("created"),
    stripeTransferId: text().unique(),
    /** The connected account's bank payout (po_…) once Stripe reports it. */
    stripePayoutId: text(),
    /** Cents Stripe reversed (cumulative, from transfer.reversed). */
    reversedCents: bigint({ mode: "number" }).notNull().default(0),
    failureReason: text(),
    createdBy: text().references(() => users.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // A run pays a provider once, whatever is retried or run twice at the same time.
    uniqueIndex("connect_payouts_run_org").on(t.runId, t.orgId),
    index().on(t.orgId, t.createdAt),
    index("connect_payouts_unsent").on(t.createdAt).where(sql`${t.stripeTransferId} is null and ${t.status} = 'created'`),
    check("connect_payouts_amount_positive", sql`${t.amountCents} > 0`),
    check("connect_payouts_reversed_within", sql`${t.reversedCents} >= 0 and ${t.reversedCents} <= ${t.amountCents}`),
  ],
);
