import "server-only";
import { env, webEnv } from "../env";
import { createPayments, type Payments } from "./config";

let payments: Payments | undefined;

/** The web process's payments configuration (Stripe mode when its keys are set). */
export function paymentsFromEnv(): Payments {
  const e = env();
  payments ??= createPayments({
    secretKey: e.STRIPE_SECRET_KEY,
    webhookSecret: e.STRIPE_WEBHOOK_SECRET,
    localWebhookSecret: e.STRIPE_LOCAL_WEBHOOK_SECRET,
  });
  return payments;
}

export function topUpLimits() {
  const e = env();
  return { minCents: e.TOPUP_MIN_CENTS, maxCents: e.TOPUP_MAX_CENTS };
}

export function appUrl(): string {
  const e = webEnv();
  return e.APP_URL ?? `http://localhost:${e.PORT}`;
}

/** Local checkout delivery: POST the signed event to our own webhook route, like Stripe would. */
export async function deliverToOwnWebhook(payload: string, signature: string): Promise<{ status: number }> {
  const res = await fetch(`${appUrl()}/api/stripe/webhook`, {
    method: "POST",
    headers: { "content-type": "application/json", "stripe-signature": signature },
    body: payload,
  });
  return { status: res.status };
}
