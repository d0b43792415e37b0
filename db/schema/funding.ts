import { sql } from "drizzle-orm";
import { bigint, check, index, pgTable, timestamp, uuid } from "drizzle-orm/pg-core";

/**
 * One usage settlement's provider share and how much of it waits for the buyer's money
 * (server/ledger/funding.ts). A row exists once part of a share has been unfunded: at
 * settlement on the buyer's receivable, or by a later clawback. The sum of unfunded_nano
 * over a provider's rows equals its provider_unfunded balance; every change is made under
 * the buyer's receivable account lock, in the transaction that posts the matching transfer.
 */
export const earningLots = pgTable(
  "earning_lots",
  {
    /** The usage_settlements row whose provider share this is. */
    settlementId: uuid().primaryKey(),
    buyerOrgId: uuid().notNull(),
    providerOrgId: uuid().notNull(),
    settledAt: timestamp({ withTimezone: true }).notNull(),
    shareNano: bigint({ mode: "bigint" }).notNull(),
    unfundedNano: bigint({ mode: "bigint" }).notNull(),
  },
  (t) => [
    check("earning_lots_unfunded_within_share", sql`${t.unfundedNano} >= 0 and ${t.unfundedNano} <= ${t.shareNano}`),
    // A repayment's scan: the buyer's lots still waiting, oldest first.
    index("earning_lots_buyer_waiting").on(t.buyerOrgId, t.settledAt, t.settlementId).where(sql`${t.unfundedNano} > 0`),
    // The provider's earnings page: what waits, by buyer.
    index("earning_lots_provider_waiting").on(t.providerOrgId).where(sql`${t.unfundedNano} > 0`),
  ],
);
