import "server-only";
import { env, webEnv } from "../env";
import { paymentsForEnv, type Payments } from "./config";

let payments: Payments | null | undefined;

/** The web process's payments configuration (see paymentsForEnv); null when top-ups are off. */
export function paymentsFromEnv(): Payments | null {
  if (payments === undefined) payments = paymentsForEnv(env());
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
