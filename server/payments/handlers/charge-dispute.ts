import type Stripe from "stripe";
import type { Tx } from "../../../db/client";
import { applyDisputeOpened, applyDisputeWon } from "../../credits/postings";
import { lockTopUpByPaymentIntent } from "../../credits/store";

function disputeOf(event: Stripe.Event) {
  const dispute = event.data.object as Stripe.Dispute;
  const pi = typeof dispute.payment_intent === "string" ? dispute.payment_intent : dispute.payment_intent?.id;
  // Stripe reports the dispute fee on the dispute's balance transactions (negative amounts with a fee).
  const feeCents = (dispute.balance_transactions ?? []).reduce((sum, bt) => sum + (bt.fee ?? 0), 0);
  return { dispute, pi, feeCents };
}

/** Opened: the disputed amount leaves the buyer's credit (even past zero), and Stripe's fee is booked. */
export async function onDisputeCreated(tx: Tx, event: Stripe.Event): Promise<void | "deferred"> {
  const { dispute, pi, feeCents } = disputeOf(event);
  if (!pi) return;
  const topup = await lockTopUpByPaymentIntent(tx, { paymentIntentId: pi });
  // Before its checkout is fulfilled: kept, and applied when it is.
  if (!topup || topup.status !== "paid") return "deferred";
  await applyDisputeOpened(tx, { topup, disputeId: dispute.id, amountCents: dispute.amount, feeCents, eventId: event.id });
}

/** Closed as won: the amount is reinstated. Lost: nothing more moves (it left when opened). */
export async function onDisputeClosed(tx: Tx, event: Stripe.Event): Promise<void | "deferred"> {
  const { dispute, pi } = disputeOf(event);
  if (!pi || dispute.status !== "won") return;
  const topup = await lockTopUpByPaymentIntent(tx, { paymentIntentId: pi });
  if (!topup || topup.status !== "paid") return "deferred";
  await applyDisputeWon(tx, { topup, disputeId: dispute.id, amountCents: dispute.amount, eventId: event.id });
}
