import "server-only";
import type { PaymentsRuntime } from "../api/trpc";
import type { Deliver } from "./checkout";
import { env, webEnv, type Env } from "../env";
import { paymentsForEnv, type Payments } from "./config";

let payments: Payments | null | undefined;

/** The web process's payments configuration (see paymentsForEnv); null when top-ups are off. */
export function paymentsFromEnv(): Payments | null {
  if (payments === undefined) payments = paymentsForEnv(env());
  return payments;
}

export function appUrl(e: Env = webEnv()): string {
  return e.APP_URL ?? `http://localhost:${e.PORT}`;
}

/**
 * What tRPC procedures get for top-ups under an environment and its payments (see
 * paymentsForEnv); undefined when top-ups are off, so they answer PRECONDITION_FAILED.
 */
export function paymentsRuntimeFor(e: Env, payments: Payments | null, deliver: Deliver): PaymentsRuntime | undefined {
  if (!payments) return undefined;
  return {
    payments,
    deliver,
    appUrl: appUrl(e),
    limits: { minCents: e.TOPUP_MIN_CENTS, maxCents: e.TOPUP_MAX_CENTS },
    lowBalanceDefaultCents: e.LOW_BALANCE_DEFAULT_CENTS,
    payoutMinimumCents: e.PAYOUT_MINIMUM_CENTS,
  };
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
