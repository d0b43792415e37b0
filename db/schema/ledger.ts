import { sql } from "drizzle-orm";
import { bigint, boolean, check, index, pgEnum, pgTable, text, timestamp, unique, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { uuidv7 } from "../../server/lib/ids";
import { organizations } from "./orgs";

/**
 * Account kinds. Organisation accounts: buyer_credits (prepaid credit, a liability to the buyer),
 * buyer_receivable (usage settled past a buyer's credit: what the buyer owes), provider_payable
 * (earned, funded by buyer money, not yet paid out), provider_unfunded (earned against a buyer's
 * receivable: waits for the buyer's money, server/ledger/funding.ts). Platform accounts (no organisation): platform_revenue (fees),
 * payments_clearing (money received through the payment processor), payment_fees (processor fees),
 * payouts (money sent to providers), usage_holds (counterparty of credit reservations),
 * promotions (credit granted for free), adjustments (manual corrections by finance).
 */
export const ledgerAccountKind = pgEnum("ledger_account_kind", [
  "buyer_credits",
  "buyer_receivable",
  "provider_payable",
  "platform_revenue",
  "payments_clearing",
  "payment_fees",
  "payouts",
  "usage_holds",
  "promotions",
  "adjustments",
  "provider_unfunded",
  "usage_clearing",
]);
export type LedgerAccountKind = (typeof ledgerAccountKind.enumValues)[number];

/**
 * single: posted at once. pending: a hold (moves *_pending sums) until post_pending,
 * void_pending or expire_pending resolves it, exactly once.
 */
export const ledgerTransferType = pgEnum("ledger_transfer_type", ["single", "pending", "post_pending", "void_pending", "expire_pending"]);
export type LedgerTransferType = (typeof ledgerTransferType.enumValues)[number];

/** Why money moved. */
export const ledgerTransferCode = pgEnum("ledger_transfer_code", [
  "topup",
  "usage",
  "reservation",
  "refund",
  "dispute",
  "payment_fee",
  "payout",
  "promotion",
  "adjustment",
  "reversal",
  /** Provider earnings moving between provider_payable and provider_unfunded. */
  "funding",
]);
export type LedgerTransferCode = (typeof ledgerTransferCode.enumValues)[number];

export const ledgerPendingStatus = pgEnum("ledger_pending_status", ["open", "posted", "voided", "expired"]);
export type LedgerPendingStatus = (typeof ledgerPendingStatus.enumValues)[number];

/**
 * Balances are sums of transfers, kept in the row and moved in the same statement
 * that inserts the transfers (see server/ledger/service.ts); checkInvariants()
 * proves them against the transfers.
 */
export const ledgerAccounts = pgTable(
  "ledger_accounts",
  {
    id: uuid().primaryKey().$defaultFn(uuidv7),
    /** Null for the platform's own accounts. */
    orgId: uuid().references(() => organizations.id),
    kind: ledgerAccountKind().notNull(),
    currency: text().notNull().default("USD"),
    debitsPosted: bigint({ mode: "bigint" }).notNull().default(sql`0`),
    creditsPosted: bigint({ mode: "bigint" }).notNull().default(sql`0`),
    debitsPending: bigint({ mode: "bigint" }).notNull().default(sql`0`),
    creditsPending: bigint({ mode: "bigint" }).notNull().default(sql`0`),
    /** How far past zero the limited side may go (nano-USD); only with one of the flags below. */
    creditLimitNano: bigint({ mode: "bigint" }).notNull().default(sql`0`),
    /** debits_posted + debits_pending <= credits_posted + credit_limit (a credit balance cannot be overspent). */
    debitsMustNotExceedCredits: boolean().notNull().default(false),
    /** credits_posted + credits_pending <= debits_posted + credit_limit. */
    creditsMustNotExceedDebits: boolean().notNull().default(false),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // One account per (organisation or platform, kind, currency); ensureAccount relies on it.
    unique("ledger_accounts_owner_kind_currency").on(t.orgId, t.kind, t.currency).nullsNotDistinct(),
    check(
      "ledger_accounts_sums_non_negative",
      sql`${t.debitsPosted} >= 0 and ${t.creditsPosted} >= 0 and ${t.debitsPending} >= 0 and ${t.creditsPending} >= 0 and ${t.creditLimitNano} >= 0`,
    ),
    check("ledger_accounts_one_limit_flag", sql`not (${t.debitsMustNotExceedCredits} and ${t.creditsMustNotExceedDebits})`),
    // Defence behind the conditional UPDATE in the posting statement: no write can leave an account past its limit.
    check(
      "ledger_accounts_debit_limit",
      sql`not ${t.debitsMustNotExceedCredits} or ${t.debitsPosted} + ${t.debitsPending} <= ${t.creditsPosted} + ${t.creditLimitNano}`,
    ),
    check(
      "ledger_accounts_credit_limit",
      sql`not ${t.creditsMustNotExceedDebits} or ${t.creditsPosted} + ${t.creditsPending} <= ${t.debitsPosted} + ${t.creditLimitNano}`,
    ),
    check("ledger_accounts_currency", sql`${t.currency} ~ '^[A-Z]{3}$'`),
  ],
);

/**
 * Append-only (triggers reject UPDATE, DELETE and TRUNCATE). The id is chosen by
 * the caller and is the idempotency key. Account references are checked by the
 * posting statement (it must move every account it names) rather than per-row
 * foreign-key triggers, which would cost a lookup per leg on batched postings;
 * accounts are never deleted (a trigger refuses it) and checkInvariants() reports
 * any transfer naming an unknown account.
 */
export const ledgerTransfers = pgTable(
  "ledger_transfers",
  {
    id: uuid().primaryKey(),
    debitAccountId: uuid().notNull(),
    creditAccountId: uuid().notNull(),
    /** For post_pending: the amount posted (≤ the pending amount); for void/expire: the amount released. */
    amountNano: bigint({ mode: "bigint" }).notNull(),
    type: ledgerTransferType().notNull().default("single"),
    /** The pending transfer a post/void/expire resolves. */
    pendingId: uuid(),
    /** Pending transfers only: when the sweeper voids the hold. */
    expiresAt: timestamp({ withTimezone: true }),
    code: ledgerTransferCode().notNull(),
    /** The source that caused the transfer, e.g. ('usage_batch', id), ('stripe_event', evt_…). */
    refKind: text(),
    refId: text(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    check("ledger_transfers_amount_positive", sql`${t.amountNano} > 0`),
    check("ledger_transfers_distinct_accounts", sql`${t.debitAccountId} <> ${t.creditAccountId}`),
    check("ledger_transfers_resolution_has_pending_id", sql`(${t.pendingId} is not null) = (${t.type} in ('post_pending', 'void_pending', 'expire_pending'))`),
    check("ledger_transfers_pending_has_expiry", sql`(${t.expiresAt} is not null) = (${t.type} = 'pending')`),
    check("ledger_transfers_ref_complete", sql`(${t.refKind} is null) = (${t.refId} is null)`),
    // At most one resolution per pending transfer, whatever the application does.
    uniqueIndex("ledger_transfers_one_resolution").on(t.pendingId).where(sql`${t.pendingId} is not null`),
    // Statements: an account's transfers. Account id alone (no created_at): every index entry
    // is paid on each batched insert, and the narrower key costs ~40% less here.
    index("ledger_transfers_debit_account").on(t.debitAccountId),
    index("ledger_transfers_credit_account").on(t.creditAccountId),
  ],
);

/**
 * The open/resolved state of each pending transfer (transfers themselves never change).
 * A resolution flips `status` from open exactly once, in the statement that inserts the
 * resolving transfer; the row lock serialises post, void and the sweeper.
 */
export const ledgerPending = pgTable(
  "ledger_pending",
  {
    pendingId: uuid()
      .primaryKey()
      .references(() => ledgerTransfers.id),
    debitAccountId: uuid().notNull(),
    creditAccountId: uuid().notNull(),
    amountNano: bigint({ mode: "bigint" }).notNull(),
    expiresAt: timestamp({ withTimezone: true }).notNull(),
    status: ledgerPendingStatus().notNull().default("open"),
    resolvedBy: uuid().references(() => ledgerTransfers.id),
  },
  (t) => [
    check("ledger_pending_resolved_by", sql`(${t.status} = 'open') = (${t.resolvedBy} is null)`),
    // The sweeper's scan: open holds by expiry.
    index("ledger_pending_open_expiry").on(t.expiresAt).where(sql`${t.status} = 'open'`),
  ],
);
