import { and, eq } from "drizzle-orm";
import type Stripe from "stripe";
import type { Tx } from "../../../db/client";
import { topups } from "../../../db/schema";
import { fulfilTopUp } from "../../credits/postings";
import { lockTopUp } from "../../credits/store";
import { applyDeferred } from "./deferred";

function sessionOf(event: Stripe.Event): Stripe.Checkout.Session {
  return event.data.object as Stripe.Checkout.Session;
}

const paymentIntentId = (s: Stripe.Checkout.Session) => (typeof s.payment_intent === "string" ? s.payment_intent : (s.payment_intent?.id ?? null));

/** Paid at once (cards): credit. Unpaid (bank debits and other delayed methods): wait for async_payment_*. */
export async function onCheckoutCompleted(tx: Tx, event: Stripe.Event) {
  const session = sessionOf(event);
  const topup = await lockTopUp(tx, { session });
  if (!topup) return;
  if (session.payment_status === "paid" || session.payment_status === "no_payment_required") {
    await fulfilTopUp(tx, { topup, sessionId: session.id, paymentIntentId: paymentIntentId(session), amountTotalCents: session.amount_total });
    await applyDeferred(tx, { paymentIntentId: paymentIntentId(session) });
  } else if (paymentIntentId(session) && !topup.paymentIntentId) {
    await tx
      .update(topups)
      .set({ paymentIntentId: paymentIntentId(session) })
      .where(eq(topups.id, topup.id));
  }
}

export async function onAsyncPaymentSucceeded(tx: Tx, event: Stripe.Event) {
  const session = sessionOf(event);
  const topup = await lockTopUp(tx, { session });
  if (!topup) return;
  await fulfilTopUp(tx, { topup, sessionId: session.id, paymentIntentId: paymentIntentId(session), amountTotalCents: session.amount_total });
  await applyDeferred(tx, { paymentIntentId: paymentIntentId(session) });
}

/** Never credits; marks the top-up failed unless it was somehow already paid. */
export async function onAsyncPaymentFailed(tx: Tx, event: Stripe.Event) {
  const topup = await lockTopUp(tx, { session: sessionOf(event) });
  if (!topup) return;
  await tx
    .update(topups)
    .set({ status: "failed" })
    .where(and(eq(topups.id, topup.id), eq(topups.status, "open")));
}

export async function onCheckoutExpired(tx: Tx, event: Stripe.Event) {
  const topup = await lockTopUp(tx, { session: sessionOf(event) });
  if (!topup) return;
  await tx
    .update(topups)
    .set({ status: "expired" })
    .where(and(eq(topups.id, topup.id), eq(topups.status, "open")));
}
