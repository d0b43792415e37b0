import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { DomainError } from "../errors";
import { waitingEarnings } from "../ledger/funding-store";
import { NANO_PER_CENT } from "../ledger/money";
import { providerAvailableNano } from "../ledger/position";
import { orgAccountSums } from "../ledger/reports";
import { parseTimestamp } from "../lib/timestamps";

/**
 * A provider's view of its money: funded (payable now), unfunded (and why), paid, in transit,
 * failed; its payouts of both kinds; and a payout's statement. Buyers stay anonymous: a
 * provider sees that a buyer's payment is awaited, never who the buyer is.
 */

type Row = Record<string, unknown>;
const cents = (v: unknown) => BigInt(v as number | bigint) * NANO_PER_CENT;

export type PayoutEntry = {
  id: string;
  kind: "stripe" | "manual";
  amountNano: bigint;
  status: "created" | "in_transit" | "paid" | "failed" | "reversed" | "recorded";
  reference: string | null;
  stripePayoutId: string | null;
  failureReason: string | null;
  createdAt: Date;
};

/** Both kinds of payout of one provider, newest first (the earnings page and the statements read this). */
const PAYOUTS = (orgId: string) => sql`
  select id, 'stripe' as kind, amount_cents::int8 * ${NANO_PER_CENT}::int8 as amount_nano, status::text, stripe_transfer_id as reference,
         stripe_payout_id, failure_reason, created_at
  from connect_payouts where org_id = ${orgId}::uuid
  union all
  select id, 'manual', amount_nano, 'recorded', bank_reference, null, null, created_at from payouts where org_id = ${orgId}::uuid`;

const toEntry = (r: Row): PayoutEntry => ({
  id: r.id as string,
  kind: r.kind as PayoutEntry["kind"],
  amountNano: r.amount_nano as bigint,
  status: r.status as PayoutEntry["status"],
  reference: (r.reference as string | null) ?? null,
  stripePayoutId: (r.stripe_payout_id as string | null) ?? null,
  failureReason: (r.failure_reason as string | null) ?? null,
  createdAt: parseTimestamp(r.created_at),
});

export async function providerEarnings(db: DbOrTx, { orgId }: { orgId: string }) {
  const accounts = await orgAccountSums(db, { orgId, kinds: ["provider_payable", "provider_unfunded"] });
  const balance = (kind: string) => {
    const a = accounts.find((x) => x.kind === kind);
    return a ? providerAvailableNano(a) : 0n;
  };
  const { rows } = await db.execute(sql`select * from (${PAYOUTS(orgId)}) p order by created_at desc, id desc limit 200`);
  const payouts = rows.map(toEntry);
  const { rows: sums } = await db.execute(
    sql`select coalesce(sum(amount_cents) filter (where status = 'paid'), 0)::int8 as paid,
               coalesce(sum(amount_cents) filter (where status in ('created', 'in_transit')), 0)::int8 as in_transit,
               coalesce(sum(amount_cents) filter (where status in ('failed', 'reversed')), 0)::int8 as failed,
               (select coalesce(sum(amount_nano), 0) from payouts where org_id = ${orgId}::uuid)::int8 as manual
        from connect_payouts where org_id = ${orgId}::uuid`,
  );
  const s = sums[0]!;
  const waiting = await waitingEarnings(db, { providerOrgId: orgId });
  return {
    fundedNano: balance("provider_payable"),
    unfundedNano: balance("provider_unfunded"),
    /** Why the unfunded part waits: one line per buyer whose payment is awaited, oldest first. */
    waiting: waiting.map((w) => ({ settlements: w.lots, unfundedNano: w.unfundedNano, since: w.oldestAt })),
    paidNano: cents(s.paid) + (s.manual as bigint),
    inTransitNano: cents(s.in_transit),
    failedNano: cents(s.failed),
    payouts,
  };
}

/**
 * A payout's statement: the payout and the usage settlements it covers. Payouts pay funded
 * earnings oldest first, so a payout covers the provider's settlements made after the
 * previous payout and up to its own.
 */
export async function payoutStatement(db: DbOrTx, { orgId, payoutId }: { orgId: string; payoutId: string }) {
  const { rows } = await db.execute(sql`
    with p as (${PAYOUTS(orgId)}),
    me as (select * from p where id = ${payoutId}::uuid)
    select me.*, (select max(created_at) from p where p.created_at < me.created_at) as previous_at from me`);
  const row = rows[0];
  if (!row) throw new DomainError("NOT_FOUND", "payoutId: no such payout", "payoutId");
  const payout = toEntry(row);
  const from = row.previous_at ? parseTimestamp(row.previous_at) : new Date(0);
  const { rows: settled } = await db.execute(
    sql`select s.id, s.created_at, s.events, s.cost_nano, s.fee_nano from usage_settlements s
        where s.provider_org_id = ${orgId}::uuid and s.created_at > ${from} and s.created_at <= ${payout.createdAt}
        order by s.created_at, s.id limit 5000`,
  );
  const settlements = settled.map((r) => ({
    id: r.id as string,
    settledAt: parseTimestamp(r.created_at),
    events: r.events as number,
    costNano: r.cost_nano as bigint,
    feeNano: r.fee_nano as bigint,
    earnedNano: (r.cost_nano as bigint) - (r.fee_nano as bigint),
  }));
  return { payout, from, settlements, earnedNano: settlements.reduce((a, x) => a + x.earnedNano, 0n) };
}
