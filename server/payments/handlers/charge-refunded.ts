import type Stripe from "stripe";
import type { Tx } from "../../../db/client";
import { applyRefund } from "../../credits/postings";
import { lockTopUpByPaymentIntent } from "../../credits/store";

/**
 * `amount_refunded` is cumulative on the charge, so the posting is the growth
 * since what was applied: redeliveries and out-of-order partial refunds
 * converge on the same total.
 */
export async function onChargeRefunded(tx: Tx, event: Stripe.Event): Promise<void | "deferred"> {
  const charge = event.data.object as Stripe.Charge;
  const pi = typeof charge.payment_intent === "string" ? charge.payment_intent : charge.payment_intent?.id;
  if (!pi) return;
  const topup = await lockTopUpByPaymentIntent(tx, { paymentIntentId: pi });
  // Before its checkout is fulfilled: kept, and applied when it is.
  if (!topup || topup.status !== "paid") return "deferred";
  await applyRefund(tx, { topup, chargeId: charge.id, amountRefundedCents: charge.amount_refunded, eventId: event.id });
}
