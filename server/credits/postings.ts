import { eq, sql } from "drizzle-orm";
import type { DbOrTx, Tx } from "../../db/client";
import { paymentAdjustments, topups } from "../../db/schema";
import type { LedgerTransferCode } from "../../db/schema/ledger";
import { nameUuid } from "../lib/ids";
import { NANO_PER_CENT } from "../ledger/money";
import type { TransferInput, TransferRef } from "../ledger/posting";
import { fundRepayment, unfundClawback } from "../ledger/funding-store";
import { ensureAccount, listBalances } from "../ledger/accounts";
import { lockBuyer } from "../ledger/locks";
import { buyerPosition } from "../ledger/position";
import { postTransfers } from "../ledger/postings";
import type { TopUp } from "./store";

/**
 * Ledger postings for money coming in and going back out (docs/DESIGN.md):
 *   top-up paid       payments_clearing → buyer_credits
 *   refund / dispute  buyer_credits     → payments_clearing (what credit cannot cover: buyer_receivable)
 *   dispute fee       payment_fees      → payments_clearing
 *   dispute won       payments_clearing → buyer_credits
 * buyer_credits can never go below zero (the ledger enforces it), so money taken
 * back past the remaining credit is owed by the buyer in buyer_receivable, and
 * the next credit repays it first. Provider earnings follow the buyer's money
 * (server/ledger/funding.ts): a repayment funds what waited for it, and money
 * taken back past the credit unfunds what it had paid for. Every transfer id is derived from the Stripe
 * object it records, so a redelivered event posts nothing new.
 */

type Leg = { idParts: string[]; code: LedgerTransferCode; ref: TransferRef };

/** Takes `amountNano` from the buyer to `creditAccountId`: from credit while it lasts, the rest as owed. */
async function takeFromBuyer(tx: Tx, orgId: string, amountNano: bigint, creditAccountId: string, leg: Leg): Promise<TransferInput[]> {
  const b = await lockBuyer(tx, { orgId });
  const { spendableNano } = b.position;
  const fromCredits = amountNano < spendableNano ? amountNano : spendableNano > 0n ? spendableNano : 0n;
  const owed = amountNano - fromCredits;
  const transfers: TransferInput[] = [];
  const base = { creditAccountId, code: leg.code, ref: leg.ref };
  if (fromCredits > 0n) transfers.push({ ...base, id: nameUuid(...leg.idParts, "credits"), debitAccountId: b.creditsId, amountNano: fromCredits });
  if (owed > 0n) {
    transfers.push({ ...base, id: nameUuid(...leg.idParts, "receivable"), debitAccountId: b.receivableId, amountNano: owed });
    transfers.push(...(await unfundClawback(tx, { buyerOrgId: orgId, amountNano: owed, sourceId: nameUuid(...leg.idParts), ref: leg.ref })));
  }
  return transfers;
}

/** Gives `amountNano` to the buyer from `debitAccountId`, then repays what the buyer owes from it. */
async function giveToBuyer(tx: Tx, orgId: string, amountNano: bigint, debitAccountId: string, leg: Leg): Promise<TransferInput[]> {
  const b = await lockBuyer(tx, { orgId });
  const transfers: TransferInput[] = [{ id: nameUuid(...leg.idParts), debitAccountId, creditAccountId: b.creditsId, amountNano, code: leg.code, ref: leg.ref }];
  const { owedNano } = b.position;
  const repay = owedNano < amountNano ? owedNano : amountNano;
  if (repay > 0n) {
    transfers.push({
      id: nameUuid(...leg.idParts, "repay"),
      debitAccountId: b.creditsId,
      creditAccountId: b.receivableId,
      amountNano: repay,
      code: leg.code,
      ref: { kind: "receivable_repayment", id: leg.ref.id },
    });
    transfers.push(...(await fundRepayment(tx, { buyerOrgId: orgId, amountNano: repay, sourceId: nameUuid(...leg.idParts), ref: leg.ref })));
  }
  return transfers;
}

const clearing = (tx: Tx) => ensureAccount(tx, { orgId: null, kind: "payments_clearing" });

/** Credits a paid top-up once; later deliveries of either checkout event find it paid. */
export async function fulfilTopUp(
  tx: Tx,
  p: { topup: TopUp; sessionId: string; paymentIntentId: string | null; amountTotalCents: number | null },
): Promise<void> {
  const { topup } = p;
  if (topup.status === "paid") return;
  // What Stripe collected is the truth; it equals the requested amount for our sessions.
  const cents = p.amountTotalCents ?? topup.amountCents;
  const amountNano = BigInt(cents) * NANO_PER_CENT;
  const source = await clearing(tx);
  const leg = { idParts: ["topup", p.sessionId], code: "topup" as const, ref: { kind: "stripe_checkout_session", id: p.sessionId } };
  await postTransfers(tx, { transfers: await giveToBuyer(tx, topup.orgId, amountNano, source.id, leg) });
  await tx
    .update(topups)
    .set({
      status: "paid",
      paidAt: sql`now()`,
      amountCents: cents,
      paymentIntentId: topup.paymentIntentId ?? p.paymentIntentId,
      receiptNumber: sql`nextval('receipt_number_seq')`,
    })
    .where(eq(topups.id, topup.id));
}

/** Applies a charge's cumulative refunded amount: posts only the growth since the last one applied. */
export async function applyRefund(tx: Tx, p: { topup: TopUp; chargeId: string; amountRefundedCents: number; eventId: string }) {
  const { topup } = p;
  const deltaCents = p.amountRefundedCents - topup.refundedCents;
  if (deltaCents <= 0 || topup.status !== "paid") return;
  const amountNano = BigInt(deltaCents) * NANO_PER_CENT;
  const target = await clearing(tx);
  const externalId = `${p.chargeId}:${p.amountRefundedCents}`;
  const leg = { idParts: ["refund", externalId], code: "refund" as const, ref: { kind: "stripe_charge", id: p.chargeId } };
  await postTransfers(tx, { transfers: await takeFromBuyer(tx, topup.orgId, amountNano, target.id, leg) });
  await tx
    .insert(paymentAdjustments)
    .values({ id: nameUuid("refund", externalId), topupId: topup.id, kind: "refund", externalId, amountNano, stripeEventId: p.eventId });
  await tx.update(topups).set({ refundedCents: p.amountRefundedCents }).where(eq(topups.id, topup.id));
}

async function adjustmentExists(tx: Tx, kind: "dispute_opened" | "dispute_won", externalId: string): Promise<boolean> {
  const { rows } = await tx.execute(sql`select 1 from payment_adjustments where kind = ${kind} and external_id = ${externalId}`);
  return rows.length > 0;
}

/** A dispute opened: the disputed amount goes back (from credit, else owed) and Stripe's fee is booked. */
export async function applyDisputeOpened(tx: Tx, p: { topup: TopUp; disputeId: string; amountCents: number; feeCents: number; eventId: string }) {
  const { topup } = p;
  if (topup.status !== "paid" || (await adjustmentExists(tx, "dispute_opened", p.disputeId))) return;
  const amountNano = BigInt(p.amountCents) * NANO_PER_CENT;
  const target = await clearing(tx);
  const ref = { kind: "stripe_dispute", id: p.disputeId };
  const transfers = await takeFromBuyer(tx, topup.orgId, amountNano, target.id, { idParts: ["dispute", p.disputeId], code: "dispute", ref });
  if (p.feeCents > 0) {
    const fees = await ensureAccount(tx, { orgId: null, kind: "payment_fees" });
    transfers.push({
      id: nameUuid("dispute_fee", p.disputeId),
      debitAccountId: fees.id,
      creditAccountId: target.id,
      amountNano: BigInt(p.feeCents) * NANO_PER_CENT,
      code: "payment_fee",
      ref,
    });
    await tx.insert(paymentAdjustments).values({
      id: nameUuid("dispute_fee", p.disputeId),
      topupId: topup.id,
      kind: "dispute_fee",
      externalId: p.disputeId,
      amountNano: BigInt(p.feeCents) * NANO_PER_CENT,
      stripeEventId: p.eventId,
    });
  }
  await postTransfers(tx, { transfers });
  await tx
    .insert(paymentAdjustments)
    .values({ id: nameUuid("dispute", p.disputeId), topupId: topup.id, kind: "dispute_opened", externalId: p.disputeId, amountNano, stripeEventId: p.eventId });
}

/** A dispute won: the amount returns to the buyer (repaying what they owe first). Stripe keeps its fee. */
export async function applyDisputeWon(tx: Tx, p: { topup: TopUp; disputeId: string; amountCents: number; eventId: string }) {
  const { topup } = p;
  if (!(await adjustmentExists(tx, "dispute_opened", p.disputeId)) || (await adjustmentExists(tx, "dispute_won", p.disputeId))) return;
  const amountNano = BigInt(p.amountCents) * NANO_PER_CENT;
  const source = await clearing(tx);
  const leg = { idParts: ["dispute_won", p.disputeId], code: "dispute" as const, ref: { kind: "stripe_dispute", id: p.disputeId } };
  await postTransfers(tx, { transfers: await giveToBuyer(tx, topup.orgId, amountNano, source.id, leg) });
  await tx.insert(paymentAdjustments).values({
    id: nameUuid("dispute_won", p.disputeId),
    topupId: topup.id,
    kind: "dispute_won",
    externalId: p.disputeId,
    amountNano,
    stripeEventId: p.eventId,
  });
}

export type CreditBalance = { balanceNano: bigint; availableNano: bigint; reservedNano: bigint; creditLimitNano: bigint; owedNano: bigint };

/**
 * The buyer's balance: what they paid in less what they used and owe (posted only; the
 * figure people expect to see). What they can spend now (`availableNano`): that plus any
 * credit limit, less what proxies hold for requests (`reservedNano`). Negative available
 * means blocked: reservations are refused until a top-up.
 */
export async function orgCreditBalance(db: DbOrTx, p: { orgId: string }): Promise<CreditBalance> {
  const accounts = await listBalances(db, { orgId: p.orgId });
  const credits = accounts.find((a) => a.kind === "buyer_credits") ?? null;
  const position = buyerPosition({ credits, receivable: accounts.find((a) => a.kind === "buyer_receivable") ?? null });
  return {
    balanceNano: position.balanceNano,
    availableNano: position.availableNano,
    reservedNano: position.heldNano,
    creditLimitNano: credits?.creditLimitNano ?? 0n,
    owedNano: position.owedNano,
  };
}
