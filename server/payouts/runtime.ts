import "server-only";
import { env } from "../env";
import { createPayments, type Payments } from "../payments/config";
import { paymentsFromEnv } from "../payments/runtime";

let connectPayments: Payments | null | undefined;

/**
 * What verifies events at the Connect webhook endpoint: Stripe gives a Connect endpoint its
 * own signing secret; without Stripe keys the local stand-in signs with the local secret.
 * Null in Stripe mode without STRIPE_CONNECT_WEBHOOK_SECRET, or when payments are off (production
 * without Stripe keys or LOCAL_CHECKOUT): the endpoint then refuses events.
 */
export function connectWebhookPayments(): Payments | null {
  if (connectPayments !== undefined) return connectPayments;
  const base = paymentsFromEnv();
  if (!base) return (connectPayments = null);
  const secret = env().STRIPE_CONNECT_WEBHOOK_SECRET;
  connectPayments = base.mode === "local" ? base : secret ? createPayments({ secretKey: env().STRIPE_SECRET_KEY, webhookSecret: secret }) : null;
  return connectPayments;
}
