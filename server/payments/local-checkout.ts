import type Stripe from "stripe";
import { nameUuid } from "../lib/ids";

/** Ids the local checkout gives its objects, shaped like Stripe's. */
export const localIds = {
  session: (topupId: string) => `cs_local_${topupId.replace(/-/g, "")}`,
  paymentIntent: (topupId: string) => `pi_local_${topupId.replace(/-/g, "")}`,
  charge: (topupId: string) => `ch_local_${topupId.replace(/-/g, "")}`,
  event: (...parts: string[]) => `evt_local_${nameUuid(...parts).replace(/-/g, "")}`,
};

type TopUpRef = { id: string; orgId: string; amountCents: number; currency: string };

/** A checkout.session.* event for a local payment, in Stripe's JSON shape. */
export function localCheckoutEvent(
  topup: TopUpRef,
  type: "checkout.session.completed" | "checkout.session.async_payment_succeeded" | "checkout.session.async_payment_failed",
  paymentStatus: "paid" | "unpaid",
  now = new Date(),
): Stripe.Event {
  const session = {
    id: localIds.session(topup.id),
    object: "checkout.session",
    mode: "payment",
    status: "complete",
    payment_status: paymentStatus,
    amount_total: topup.amountCents,
    currency: topup.currency,
    client_reference_id: topup.id,
    metadata: { org_id: topup.orgId, topup_id: topup.id },
    payment_intent: localIds.paymentIntent(topup.id),
  };
  return localEvent(type, session, [topup.id, paymentStatus], now);
}

/** An event as Stripe sends it, for a local object; `account` marks a connected account's event. Id derived from `idParts`. */
export function localEvent(type: string, object: object, idParts: string[], now = new Date(), account: string | null = null): Stripe.Event {
  return {
    id: localIds.event(type, ...idParts),
    object: "event",
    api_version: null,
    created: Math.floor(now.getTime() / 1000),
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    type,
    ...(account ? { account } : {}),
    data: { object },
  } as unknown as Stripe.Event;
}

/** Signs a payload the way Stripe does, with the SDK's own helper. */
export function signPayload(stripe: Stripe, payload: string, secret: string, timestamp?: number): string {
  return stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp });
}
