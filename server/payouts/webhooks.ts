import { eq, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { Tx } from "../../db/client";
import { connectPayouts } from "../../db/schema";
import { isUuid, nameUuid } from "../lib/ids";
import { NANO_PER_CENT } from "../ledger/money";
import { ensureAccount, postTransfers } from "../ledger/service";
import { applyAccountState, type ConnectPayout } from "./service";

/**
 * Stripe Connect events. Each is processed once (the webhook stores events by id) and in any
 * order: a status only moves forward (created → in_transit → paid; failed and reversed are
 * final), and money goes back to the provider's funded payable at most once per payout and
 * never more than was sent: `returned` = reversed cents, or the whole amount once failed.
 */

const payoutIdOf = (o: { metadata?: Stripe.Metadata | null; transfer_group?: string | null }) => {
  const id = o.metadata?.payout_id ?? o.transfer_group ?? null;
  return id && isUuid(id) ? id : null;
};

async function lockPayout(tx: Tx, p: { payoutId: string | null; transferId?: string | null }): Promise<ConnectPayout | null> {
  if (p.payoutId) {
    const [row] = await tx.select().from(connectPayouts).where(eq(connectPayouts.id, p.payoutId)).for("update");
    if (row) return row;
  }
  if (!p.transferId) return null;
  const [row] = await tx.select().from(connectPayouts).where(eq(connectPayouts.stripeTransferId, p.transferId)).for("update");
  return row ?? null;
}

/** What the ledger has already given back to the provider for this payout, in cents. */
const returnedCents = (p: ConnectPayout) => (p.status === "failed" ? p.amountCents : p.reversedCents);

/** Gives `cents` back: payouts → provider_payable, one transfer per (payout, cumulative returned). */
async function giveBack(tx: Tx, payout: ConnectPayout, cents: number, totalReturnedCents: number) {
  if (cents <= 0) return;
  const payable = await ensureAccount(tx, { orgId: payout.orgId, kind: "provider_payable" });
  const payoutsAccount = await ensureAccount(tx, { orgId: null, kind: "payouts" });
  await postTransfers(tx, {
    transfers: [
      {
        id: nameUuid("connect_payout_return", payout.id, String(totalReturnedCents)),
        debitAccountId: payoutsAccount.id,
        creditAccountId: payable.id,
        amountNano: BigInt(cents) * NANO_PER_CENT,
        code: "payout",
        ref: { kind: "connect_payout", id: payout.id },
      },
    ],
  });
}

export async function onAccountUpdated(tx: Tx, event: Stripe.Event) {
  const account = event.data.object as Stripe.Account;
  await applyAccountState(tx, {
    accountId: account.id,
    detailsSubmitted: account.details_submitted === true,
    payoutsEnabled: account.payouts_enabled === true,
    asOf: event.created,
  });
}

export async function onTransferCreated(tx: Tx, event: Stripe.Event) {
  const transfer = event.data.object as Stripe.Transfer;
  const payout = await lockPayout(tx, { payoutId: payoutIdOf(transfer), transferId: transfer.id });
  if (!payout) return;
  await tx
    .update(connectPayouts)
    .set({
      stripeTransferId: sql`coalesce(${connectPayouts.stripeTransferId}, ${transfer.id})`,
      status: payout.status === "created" ? "in_transit" : payout.status,
    })
    .where(eq(connectPayouts.id, payout.id));
}

/** `amount_reversed` is cumulative: the growth since what was applied goes back, even after the payout was paid. */
export async function onTransferReversed(tx: Tx, event: Stripe.Event) {
  const transfer = event.data.object as Stripe.Transfer;
  const payout = await lockPayout(tx, { payoutId: payoutIdOf(transfer), transferId: transfer.id });
  if (!payout || transfer.amount_reversed <= payout.reversedCents) return;
  const reversed = Math.min(transfer.amount_reversed, payout.amountCents);
  if (payout.status !== "failed") await giveBack(tx, payout, reversed - payout.reversedCents, reversed);
  await tx
    .update(connectPayouts)
    .set({ reversedCents: reversed, status: payout.status === "failed" ? "failed" : reversed >= payout.amountCents ? "reversed" : payout.status })
    .where(eq(connectPayouts.id, payout.id));
}

/** The connected account's bank payout: matched by the payout id in its metadata. */
export async function onPayoutPaid(tx: Tx, event: Stripe.Event) {
  const po = event.data.object as Stripe.Payout;
  const payout = await lockPayout(tx, { payoutId: payoutIdOf(po) });
  if (!payout || payout.stripeAccountId !== event.account) return;
  const status = payout.status === "created" || payout.status === "in_transit" ? "paid" : payout.status;
  await tx.update(connectPayouts).set({ status, stripePayoutId: po.id }).where(eq(connectPayouts.id, payout.id));
}

export async function onPayoutFailed(tx: Tx, event: Stripe.Event) {
  const po = event.data.object as Stripe.Payout;
  const payout = await lockPayout(tx, { payoutId: payoutIdOf(po) });
  if (!payout || payout.stripeAccountId !== event.account || payout.status === "failed") return;
  await giveBack(tx, payout, payout.amountCents - returnedCents(payout), payout.amountCents);
  await tx
    .update(connectPayouts)
    .set({ status: "failed", stripePayoutId: po.id, failureReason: po.failure_message ?? po.failure_code ?? "failed" })
    .where(eq(connectPayouts.id, payout.id));
}

export const connectHandlers = {
  "account.updated": onAccountUpdated,
  "transfer.created": onTransferCreated,
  "transfer.reversed": onTransferReversed,
  "payout.paid": onPayoutPaid,
  "payout.failed": onPayoutFailed,
};
