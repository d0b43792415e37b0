import { and, eq } from "drizzle-orm";
import type { Db, DbOrTx } from "../../db/client";
import { topups } from "../../db/schema";
import { isResumable } from "../credits/checkout-expiry";
import { getTopUp } from "../credits/store";
import { DomainError } from "../errors";
import { uuidv7 } from "../lib/ids";
import { NANO_PER_CENT, parseUsd } from "../ledger/money";
import type { Payments } from "./config";
import { localCheckoutEvent, localIds, signPayload } from "./local-checkout";

/**
 * Checkouts for top-ups, at Stripe or the local stand-in: opened, paid locally, or cancelled.
 * Credit arrives only through the webhook (./webhook.ts), which posts it (../credits/postings.ts);
 * so payments depends on credits and never the other way round.
 */

export type TopUpLimits = { minCents: number; maxCents: number };

/** Dollars text → cents, refusing sub-cent amounts and amounts outside the configured bounds. */
export function topUpCents(amountUsd: string, limits: TopUpLimits): number {
  const nano = parseUsd(amountUsd, "amountUsd");
  if (nano % NANO_PER_CENT !== 0n) throw new DomainError("INVALID_INPUT", "amountUsd: use whole cents", "amountUsd");
  const cents = Number(nano / NANO_PER_CENT);
  if (cents < limits.minCents || cents > limits.maxCents) {
    const fmt = (c: number) => `$${(c / 100).toFixed(2)}`;
    throw new DomainError("INVALID_INPUT", `amountUsd: top-ups must be between ${fmt(limits.minCents)} and ${fmt(limits.maxCents)}`, "amountUsd");
  }
  return cents;
}

/**
 * Opens a top-up. Stripe mode creates a Checkout Session (idempotency key = the
 * top-up id; organisation and top-up in metadata) and returns its URL; local mode
 * returns the built-in checkout page. Credit arrives only through webhooks.
 */
export async function createTopUp(
  db: Db,
  p: { payments: Payments; orgId: string; userId: string; amountUsd: string; limits: TopUpLimits; appUrl: string },
): Promise<{ id: string; checkoutUrl: string }> {
  const { payments } = p;
  const amountCents = topUpCents(p.amountUsd, p.limits);
  const id = uuidv7();
  if (payments.mode === "local") {
    const checkoutUrl = `/credits/checkout/${id}`;
    await db.insert(topups).values({
      id,
      orgId: p.orgId,
      createdBy: p.userId,
      amountCents,
      mode: "local",
      checkoutSessionId: localIds.session(id),
      paymentIntentId: localIds.paymentIntent(id),
      checkoutUrl,
    });
    return { id, checkoutUrl };
  }
  await db.insert(topups).values({ id, orgId: p.orgId, createdBy: p.userId, amountCents, mode: "stripe" });
  try {
    const metadata = { org_id: p.orgId, topup_id: id };
    const session = await payments.stripe.checkout.sessions.create(
      {
        mode: "payment",
        client_reference_id: id,
        metadata,
        payment_intent_data: { metadata },
        line_items: [
          {
            quantity: 1,
            price_data: { currency: "usd", unit_amount: amountCents, product_data: { name: "tokenmarket credits" } },
          },
        ],
        success_url: `${p.appUrl}/credits?topup=${id}`,
        cancel_url: `${p.appUrl}/credits?canceled=${id}`,
      },
      { idempotencyKey: `topup-${id}` },
    );
    if (!session.url) throw new Error("Stripe returned a session without a URL");
    await db.update(topups).set({ checkoutSessionId: session.id, checkoutUrl: session.url }).where(eq(topups.id, id));
    return { id, checkoutUrl: session.url };
  } catch (err) {
    await db.update(topups).set({ status: "failed" }).where(eq(topups.id, id));
    throw new DomainError("UPSTREAM_FAILED", `Stripe could not start the checkout: ${(err as Error).message}`);
  }
}

/** Delivers a signed event to the webhook endpoint (over HTTP in the app; directly in tests). */
export type Deliver = (payload: string, signature: string) => Promise<{ status: number }>;

/**
 * The local checkout's "payment": builds the events Stripe would send, signs them
 * with the local secret through the Stripe SDK, and delivers them through the
 * webhook endpoint. `fail` simulates a delayed payment method that then fails.
 */
export async function payLocally(
  db: DbOrTx,
  p: { payments: Payments; deliver: Deliver; orgId: string; topupId: string; outcome: "pay" | "fail" },
): Promise<void> {
  const { payments, deliver } = p;
  if (payments.mode !== "local") throw new DomainError("FORBIDDEN", "The local checkout is off: this platform takes real payments through Stripe");
  const topup = await getTopUp(db, p);
  if (!topup || topup.mode !== "local") throw new DomainError("NOT_FOUND", "Top-up not found", "topupId");
  if (topup.status !== "open") throw new DomainError("CONFLICT", `This top-up is already ${topup.status}`, "topupId");
  if (!isResumable(topup, new Date())) throw new DomainError("CONFLICT", "This checkout expired after 24 hours; start a new top-up", "topupId");
  const events =
    p.outcome === "pay"
      ? [localCheckoutEvent(topup, "checkout.session.completed", "paid")]
      : [localCheckoutEvent(topup, "checkout.session.completed", "unpaid"), localCheckoutEvent(topup, "checkout.session.async_payment_failed", "unpaid")];
  for (const event of events) {
    const payload = JSON.stringify(event);
    const res = await deliver(payload, signPayload(payments.stripe, payload, payments.webhookSecret));
    if (res.status !== 200) throw new DomainError("UPSTREAM_FAILED", `The webhook endpoint answered ${res.status}`);
  }
}

/**
 * The buyer gives up on an open top-up: Stripe's session is expired first (so it can no
 * longer be paid), then the top-up is marked canceled. Throws CONFLICT once it is paid,
 * failed, expired or canceled.
 */
export async function cancelTopUp(db: DbOrTx, p: { payments: Payments; orgId: string; topupId: string; now?: Date }): Promise<void> {
  const { payments } = p;
  const topup = await getTopUp(db, p);
  if (!topup) throw new DomainError("NOT_FOUND", "Top-up not found", "topupId");
  if (!isResumable(topup, p.now ?? new Date())) {
    throw new DomainError("CONFLICT", `This top-up is ${topup.status === "open" ? "expired" : topup.status}; there is nothing to cancel`, "topupId");
  }
  if (topup.mode === "stripe" && payments.mode === "stripe" && topup.checkoutSessionId) {
    try {
      await payments.stripe.checkout.sessions.expire(topup.checkoutSessionId);
    } catch (err) {
      throw new DomainError("UPSTREAM_FAILED", `Stripe could not cancel the checkout: ${(err as Error).message}`);
    }
  }
  await db
    .update(topups)
    .set({ status: "canceled" })
    .where(and(eq(topups.id, topup.id), eq(topups.status, "open")));
}
