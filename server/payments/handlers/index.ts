import type Stripe from "stripe";
import type { Tx } from "../../../db/client";
import { onChargeRefunded } from "./charge-refunded";
import { onCheckoutCompleted, onAsyncPaymentFailed, onAsyncPaymentSucceeded, onCheckoutExpired } from "./checkout-session";
import { onDisputeClosed, onDisputeCreated } from "./charge-dispute";
import { connectHandlers } from "../../payouts/webhooks";

/** "deferred": the event waits, stored and unprocessed, for its payment's fulfilment (see deferred.ts). */
export type EventHandler = (tx: Tx, event: Stripe.Event) => Promise<void | "deferred">;

/** One handler per event type we act on; every other event is stored and acknowledged. */
export const handlers: Partial<Record<string, EventHandler>> = {
  "checkout.session.completed": onCheckoutCompleted,
  "checkout.session.async_payment_succeeded": onAsyncPaymentSucceeded,
  "checkout.session.async_payment_failed": onAsyncPaymentFailed,
  "checkout.session.expired": onCheckoutExpired,
  "charge.refunded": onChargeRefunded,
  "charge.dispute.created": onDisputeCreated,
  "charge.dispute.closed": onDisputeClosed,
  ...connectHandlers,
};
