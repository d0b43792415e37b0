import Stripe from "stripe";

/**
 * How money comes in. Stripe mode needs both keys; local mode uses a built-in
 * checkout page that signs its webhook events with a local secret through the
 * Stripe SDK's own helper, delivered through the same route and handlers.
 */
export type Payments =
  | { mode: "stripe"; stripe: Stripe; webhookSecret: string }
  | { mode: "local"; stripe: Stripe; webhookSecret: string };

export const WEBHOOK_TOLERANCE_SECONDS = 300;

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
