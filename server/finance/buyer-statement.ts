import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import type { LedgerTransferCode } from "../../db/schema/ledger";
import { orgAccountIdsSql, orgAccountSums } from "../ledger/reports";
import { parseTimestamp } from "../lib/timestamps";
import { buyerStatementLines, type BuyerMovement } from "./buyer-lines";
import type { Month } from "./period";
import { UUID_TEXT } from "./usage-queries";

/**
 * The buyer's side of a monthly statement, read from the ledger: every posted transfer that
 * moves the buyer's balance (buyer_credits less buyer_receivable), usage grouped per UTC day of
 * settlement with the requests it carried (the buyer's usage_settlements rows of each window). Holds
 * (pending transfers) are not postings and are left out; the hold open now is returned apart.
 */

export async function buyerMonthly(db: DbOrTx, p: { orgId: string; month: Month }) {
  const accounts = orgAccountIdsSql({ orgId: p.orgId, kinds: ["buyer_credits", "buyer_receivable"] });
  // + when the buyer gains (credit to buyer_credits, or owed less), − when they pay; a transfer between the two nets to 0.
  const effect = sql`(case when t.credit_account_id in ${accounts} then t.amount_nano else 0 end - case when t.debit_account_id in ${accounts} then t.amount_nano else 0 end)`;
  const moving = sql`(t.debit_account_id in ${accounts} or t.credit_account_id in ${accounts}) and t.type in ('single', 'post_pending')`;
  const start = p.month.startsAt.toISOString();
  const end = p.month.endsAt.toISOString();
  const [opening, usage, postings, held] = await Promise.all([
    db.execute<{ opening: bigint | null }>(
      sql`select sum(${effect})::int8 as opening from ledger_transfers t where ${moving} and t.created_at < ${start}::timestamptz`,
    ),
    // The requests a day's usage carried: a window leg's are the buyer's events in that window (its
    // usage_settlements rows, one per provider), a legacy settlement's its row's. A leg whose record is
    // missing still counts its money (reconciliation names it).
    db.execute<{ day: string; requests: bigint; amount: bigint }>(sql`
      with c as (
        select to_char(t.created_at at time zone 'UTC', 'YYYY-MM-DD') as day, t.ref_kind, t.ref_id, sum(${effect}) as amount
        from ledger_transfers t
        where ${moving} and t.code = 'usage' and t.created_at >= ${start}::timestamptz and t.created_at < ${end}::timestamptz
        group by 1, 2, 3
      ), r as (
        select 'usage_window' as ref_kind, s.batch_id::text as ref_id, sum(s.events)::int8 as requests
        from usage_settlements s
        -- A window's rows carry its time, which is its legs' (usage_settlements_buyer_newest serves this; batch_id has no index).
        where s.buyer_org_id = ${p.orgId}::uuid and s.created_at >= ${start}::timestamptz and s.created_at < ${end}::timestamptz
          and s.batch_id in (select ref_id::uuid from c where ref_kind = 'usage_window' and ref_id ~* ${UUID_TEXT})
        group by 2
        union all
        select 'usage_settlement', s.id::text, s.events::int8
        from usage_settlements s
        where s.id in (select ref_id::uuid from c where ref_kind = 'usage_settlement' and ref_id ~* ${UUID_TEXT})
      )
      select c.day, coalesce(sum(r.requests), 0)::int8 as requests, sum(c.amount)::int8 as amount
      from c left join r on r.ref_kind = c.ref_kind and r.ref_id = c.ref_id
      group by c.day`),
    db.execute<{ id: string; code: LedgerTransferCode; created_at: Date | string; amount: bigint }>(sql`
      select t.id, t.code, t.created_at, ${effect}::int8 as amount
      from ledger_transfers t
      where ${moving} and t.code <> 'usage' and t.created_at >= ${start}::timestamptz and t.created_at < ${end}::timestamptz`),
    orgAccountSums(db, { orgId: p.orgId, kinds: ["buyer_credits"] }),
  ]);
  const movements: BuyerMovement[] = [
    ...usage.rows.map((r): BuyerMovement => ({ kind: "usage", day: r.day, requests: Number(r.requests), amountNano: BigInt(r.amount) })),
    ...postings.rows.map(
      (r): BuyerMovement => ({ kind: "posting", code: r.code, at: parseTimestamp(r.created_at), transferId: r.id, amountNano: BigInt(r.amount) }),
    ),
  ];
  const statement = buyerStatementLines(BigInt(opening.rows[0]?.opening ?? 0n), movements);
  return { ...statement, heldNowNano: held.reduce((sum, a) => sum + a.debitsPending, 0n) };
}
