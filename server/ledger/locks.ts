import { sql } from "drizzle-orm";
import type { Tx } from "../../db/client";
import { pgArray } from "../lib/pg-array";
import { ensureAccount } from "./accounts";
import { buyerPosition, type BuyerPosition } from "./position";

export type LockedAccount = { id: string; debitsPosted: bigint; creditsPosted: bigint; debitsPending: bigint; creditLimitNano: bigint };

/**
 * Locks ledger accounts before a posting that moves them, in id order (the order every
 * writer takes, so concurrent postings queue instead of deadlocking), and returns their
 * sums as locked. `no key update` by default: the posting's own row updates need no
 * stronger lock; `update` for callers that have always taken the full row lock.
 */
export async function lockAccounts(tx: Tx, p: { accountIds: readonly string[]; strength?: "no key update" | "update" }): Promise<Map<string, LockedAccount>> {
  const ids = pgArray([...new Set(p.accountIds)]);
  const { rows } = await tx.execute<{ id: string; debits_posted: bigint; credits_posted: bigint; debits_pending: bigint; credit_limit_nano: bigint }>(
    p.strength === "update"
      ? sql`select id, debits_posted, credits_posted, debits_pending, credit_limit_nano from ledger_accounts
            where id = any(${ids}::uuid[]) order by id for update`
      : sql`select id, debits_posted, credits_posted, debits_pending, credit_limit_nano from ledger_accounts
            where id = any(${ids}::uuid[]) order by id for no key update`,
  );
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        debitsPosted: BigInt(r.debits_posted),
        creditsPosted: BigInt(r.credits_posted),
        debitsPending: BigInt(r.debits_pending),
        creditLimitNano: BigInt(r.credit_limit_nano),
      },
    ]),
  );
}

export type LockedBuyer = { creditsId: string; receivableId: string; position: BuyerPosition };

/** Creates (on first use) and locks a buyer's credit and receivable accounts (id order, full row locks), with its position as locked. */
export async function lockBuyer(tx: Tx, p: { orgId: string }): Promise<LockedBuyer> {
  const credits = await ensureAccount(tx, { orgId: p.orgId, kind: "buyer_credits" });
  const receivable = await ensureAccount(tx, { orgId: p.orgId, kind: "buyer_receivable" });
  const locked = await lockAccounts(tx, { accountIds: [credits.id, receivable.id], strength: "update" });
  return {
    creditsId: credits.id,
    receivableId: receivable.id,
    position: buyerPosition({ credits: locked.get(credits.id)!, receivable: locked.get(receivable.id)! }),
  };
}
