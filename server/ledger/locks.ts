import { sql } from "drizzle-orm";
import type { DbOrTx, Tx } from "../../db/client";
import type { LedgerAccountKind } from "../../db/schema/ledger";
import { pgArray } from "../lib/pg-array";

export type LockedAccount = { id: string; debitsPosted: bigint; creditsPosted: bigint; debitsPending: bigint; creditLimitNano: bigint };

/**
 * Locks ledger accounts before a posting that moves them, in id order (the order every
 * writer takes, so concurrent postings queue instead of deadlocking), and returns their
 * sums as locked. `for no key update`: the posting's own row updates need no stronger lock.
 */
export async function lockAccounts(tx: Tx, ids: readonly string[]): Promise<Map<string, LockedAccount>> {
  const { rows } = await tx.execute<{ id: string; debits_posted: bigint; credits_posted: bigint; debits_pending: bigint; credit_limit_nano: bigint }>(
    sql`select id, debits_posted, credits_posted, debits_pending, credit_limit_nano from ledger_accounts
        where id = any(${pgArray([...new Set(ids)])}::uuid[]) order by id for no key update`,
  );
  return new Map(
    rows.map((r) => [
      r.id,
      { id: r.id, debitsPosted: BigInt(r.debits_posted), creditsPosted: BigInt(r.credits_posted), debitsPending: BigInt(r.debits_pending), creditLimitNano: BigInt(r.credit_limit_nano) },
    ]),
  );
}

/**
 * What a buyer's credit account can still pay when `releasedPendingNano` of its holds are
 * being voided in the same transaction: credit + credit limit − spent − what stays held.
 */
export function spendableNano(a: LockedAccount, releasedPendingNano: bigint): bigint {
  return a.creditsPosted + a.creditLimitNano - a.debitsPosted - (a.debitsPending - releasedPendingNano);
}

/** The USD accounts that exist among (organisation or platform, kind) pairs: "org|kind" → id (org "platform" for null). */
export async function findAccounts(db: DbOrTx, needs: readonly { orgId: string | null; kind: LedgerAccountKind }[]): Promise<Map<string, string>> {
  if (!needs.length) return new Map();
  const { rows } = await db.execute<{ id: string; org_id: string | null; kind: LedgerAccountKind }>(sql`
    select a.id, a.org_id, a.kind from ledger_accounts a
    join unnest(${pgArray(needs.map((m) => m.orgId))}::uuid[], ${pgArray(needs.map((m) => m.kind))}::ledger_account_kind[]) as n(org_id, kind)
      on a.org_id is not distinct from n.org_id and a.kind = n.kind and a.currency = 'USD'`);
  return new Map(rows.map((r) => [`${r.org_id ?? "platform"}:${r.kind}`, r.id]));
}
