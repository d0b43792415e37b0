import { sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { DbOrTx } from "../../db/client";
import { NANO_PER_CENT } from "../ledger/money";
import { joinAccount } from "../ledger/reports";
import { stripeConnectApi } from "./connect-api";

/**
 * Payouts ↔ ledger ↔ Stripe, for payouts made in a range. Three records of the same money:
 *  - the payout records (connect_payouts: amount, what Stripe reversed, failed; payouts: manual);
 *  - the ledger: every transfer referring to the payout, net (sent less given back);
 *  - Stripe's transfers: through the SDK's list call in Stripe mode, else the transfer events
 *    the local stand-in signed and the webhook stored.
 * A payout's record expects the ledger to hold amount − returned (returned: reversed cents, or
 * all of it once its bank payout failed) and Stripe to hold one transfer of the amount with the
 * same reversed amount.
 */

export type PayoutDifference = { ref: string; detail: string; expectedNano: bigint | null; actualNano: bigint | null };
type Row = Record<string, unknown>;
type Range = { from: Date; to: Date };
type StripeTransfer = { id: string; payoutId: string | null; amountCents: bigint; reversedCents: bigint };

const cents = (c: bigint) => c * NANO_PER_CENT;

/** The stand-in's transfers: each transfer.created event stored, with the highest amount_reversed any transfer.reversed event reported. */
async function storedTransfers(db: DbOrTx, range: Range): Promise<StripeTransfer[]> {
  const { rows } = await db.execute(sql`
    select c.payload->'data'->'object'->>'id' as id, c.payload->'data'->'object'->'metadata'->>'payout_id' as payout_id,
           (c.payload->'data'->'object'->>'amount')::int8 as amount,
           coalesce((select max((r.payload->'data'->'object'->>'amount_reversed')::int8) from stripe_events r
                     where r.type = 'transfer.reversed' and r.payload->'data'->'object'->>'id' = c.payload->'data'->'object'->>'id'), 0)::int8 as reversed
    from stripe_events c
    where c.type = 'transfer.created' and c.received_at >= ${range.from} and c.received_at < ${range.to}`);
  return rows.map((r: Row) => ({
    id: r.id as string,
    payoutId: (r.payout_id as string | null) ?? null,
    amountCents: BigInt(r.amount as bigint),
    reversedCents: BigInt(r.reversed as bigint),
  }));
}

export async function payoutDifferences(
  db: DbOrTx,
  { stripe = null, ...range }: Range & { stripe?: Stripe | null },
): Promise<{ figures: { label: string; nano: bigint }[]; differences: PayoutDifference[] }> {
  const { rows } = await db.execute(sql`
    with records as (
      select id, 'stripe' as kind, amount_cents::int8 * ${NANO_PER_CENT}::int8 as amount,
             (case when status = 'failed' then amount_cents else reversed_cents end)::int8 * ${NANO_PER_CENT}::int8 as returned,
             stripe_transfer_id, amount_cents, reversed_cents
      from connect_payouts where created_at >= ${range.from} and created_at < ${range.to}
      union all
      select id, 'manual', amount_nano, 0, null, null, null from payouts where created_at >= ${range.from} and created_at < ${range.to}
    )
    select r.*, coalesce((
      select sum(case when a.kind = 'provider_payable' then t.amount_nano else -t.amount_nano end) from ledger_transfers t
      ${joinAccount("a", "t.debit_account_id")}
      where t.ref_kind in ('connect_payout', 'payout') and t.ref_id = r.id::text), 0)::int8 as ledger
    from records r order by r.id`);
  const differences: PayoutDifference[] = [];
  let recorded = 0n;
  let ledger = 0n;
  for (const r of rows as Row[]) {
    const expected = (r.amount as bigint) - (r.returned as bigint);
    recorded += expected;
    ledger += r.ledger as bigint;
    if (expected !== r.ledger)
      differences.push({
        ref: r.id as string,
        detail: `payout record ${expected} vs ledger ${r.ledger}`,
        expectedNano: expected,
        actualNano: r.ledger as bigint,
      });
  }

  const transfers = stripe ? await stripeConnectApi(stripe).listTransfers(range) : await storedTransfers(db, range);
  const byPayout = new Map(transfers.filter((t) => t.payoutId).map((t) => [t.payoutId!, t]));
  let stripeNano = 0n;
  for (const t of transfers) stripeNano += cents(t.amountCents - t.reversedCents);
  const connect = (rows as Row[]).filter((r) => r.kind === "stripe");
  for (const r of connect) {
    const id = r.id as string;
    const t = byPayout.get(id);
    if (!t) {
      differences.push({ ref: id, detail: "no Stripe transfer for this payout", expectedNano: cents(BigInt(r.amount_cents as bigint)), actualNano: null });
      continue;
    }
    byPayout.delete(id);
    const recordCents = BigInt(r.amount_cents as bigint);
    const recordReversedCents = BigInt(r.reversed_cents as bigint);
    if (t.amountCents !== recordCents || t.reversedCents !== recordReversedCents) {
      differences.push({
        ref: id,
        detail: `payout record ${r.amount_cents}¢ (reversed ${r.reversed_cents}¢) vs Stripe transfer ${t.id} ${t.amountCents}¢ (reversed ${t.reversedCents}¢)`,
        expectedNano: cents(recordCents - recordReversedCents),
        actualNano: cents(t.amountCents - t.reversedCents),
      });
    }
  }
  for (const t of transfers) {
    if (!t.payoutId || byPayout.has(t.payoutId))
      differences.push({ ref: t.id, detail: "Stripe transfer with no payout record", expectedNano: null, actualNano: cents(t.amountCents - t.reversedCents) });
  }
  return {
    figures: [
      { label: "Payouts recorded, net of returns", nano: recorded },
      { label: "Payout transfers in the ledger, net", nano: ledger },
      { label: "Stripe transfers, net of reversals", nano: stripeNano },
    ],
    differences,
  };
}
