import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { orgAccountSums } from "../ledger/reports";
import { asDate } from "../usage/store";

/** The provider's payable balance (earned, not yet paid out) and the payouts it received, from the ledger. */
export async function providerPayouts(db: DbOrTx, p: { orgId: string }) {
  const { orgId } = p;
  const [a] = await orgAccountSums(db, { orgId, kinds: ["provider_payable"] });
  if (!a) return { payableNano: 0n, earnedNano: 0n, paidOutNano: 0n, payouts: [] };
  const [{ rows: sums }, { rows: payouts }] = await Promise.all([
    db.execute<{ earned: bigint; paid: bigint }>(sql`
      select coalesce(sum(amount_nano) filter (where credit_account_id = ${a.id}::uuid and code = 'usage'), 0)::int8 as earned,
             coalesce(sum(amount_nano) filter (where debit_account_id = ${a.id}::uuid and code = 'payout'), 0)::int8 as paid
      from ledger_transfers where (credit_account_id = ${a.id}::uuid or debit_account_id = ${a.id}::uuid) and type = 'single'`),
    db.execute<{ id: string; amount_nano: bigint; ref_id: string | null; created_at: string }>(sql`
      select id, amount_nano, ref_id, created_at from ledger_transfers
      where debit_account_id = ${a.id}::uuid and code = 'payout' and type = 'single'
      order by created_at desc, id desc limit 100`),
  ]);
  return {
    payableNano: a.creditsPosted - a.debitsPosted,
    earnedNano: sums[0]!.earned,
    paidOutNano: sums[0]!.paid,
    payouts: payouts.map((p) => ({ id: p.id, amountNano: p.amount_nano, reference: p.ref_id, createdAt: asDate(p.created_at) })),
  };
}
