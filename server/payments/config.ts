import Stripe from "stripe";

/**
 * How money comes in. Stripe mode needs both keys; local mode uses a built-in
 * checkout page that signs its webhook events with a local secret through the
 * Stripe SDK's own helper, delivered through the same route and handlers.
 */
export type Payments = { mode: "stripe"; stripe: Stripe; webhookSecret: string } | { mode: "local"; stripe: Stripe; webhookSecret: string };

export const WEBHOOK_TOLERANCE_SECONDS = 300;

/**
 * Stripe when both its keys are set. Otherwise the local checkout, which hands out credit
 * for free, only when LOCAL_CHECKOUT=true or outside production; else null (no top-ups:
 * a production platform missing a Stripe key must not quietly give credit away).
 */
export function paymentsForEnv(e: {
  NODE_ENV: string;
  LOCAL_CHECKOUT: boolean;
  STRIPE_SECRET_KEY?: string;
  STRIPE_WEBHOOK_SECRET?: string;
  STRIPE_LOCAL_WEBHOOK_SECRET?: string;
}): Payments | null {
  if (!(e.STRIPE_SECRET_KEY && e.STRIPE_WEBHOOK_SECRET) && !e.LOCAL_CHECKOUT && e.NODE_ENV === "production") return null;
  return createPayments({ secretKey: e.STRIPE_SECRET_KEY, webhookSecret: e.STRIPE_WEBHOOK_SECRET, localWebhookSecret: e.STRIPE_LOCAL_WEBHOOK_SECRET });
}

export function createPayments(opts: {
  secretKey?: string;
  webhookSecret?: string;
  localWebhookSecret?: string;
  /** Tests point the SDK at a local stand-in for Stripe's API. */
  apiHost?: { host: string; port: number; protocol: "http" | "https" };
}): Payments {
  if (opts.secretKey && opts.webhookSecret) {
    const stripe = new Stripe(opts.secretKey, { maxNetworkRetries: 2, timeout: 20_000, ...(opts.apiHost ?? {}) });
    return { mode: "stripe", stripe, webhookSecret: opts.webhookSecret };
  }
  if (!opts.localWebhookSecret) throw new Error("STRIPE_LOCAL_WEBHOOK_SECRET is not set (start the platform with `npm start`)");
  // Never calls Stripe's API: only its webhook signing and verification helpers are used.
  return { mode: "local", stripe: new Stripe("sk_test_local_mode_never_sent"), webhookSecret: opts.localWebhookSecret };
}
