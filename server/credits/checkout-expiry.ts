import { and, eq, lt } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { topups } from "../../db/schema";
import { DomainError } from "../errors";
import type { Payments } from "../payments/config";
import { getTopUp, type TopUp } from "./store";

/** How long a checkout stays payable: 24 hours, Stripe's own default for Checkout Sessions. */
export const CHECKOUT_LIFETIME_MS = 24 * 3600 * 1000;

/** When an open top-up stops being payable (created + 24 h). */
export function checkoutExpiresAt(createdAt: Date): Date {
  return new Date(createdAt.getTime() + CHECKOUT_LIFETIME_MS);
}

/** Whether a top-up can still be paid (resumed) or cancelled at `now`. */
export function isResumable(t: Pick<TopUp, "status" | "createdAt">, now: Date): boolean {
  return t.status === "open" && now < checkoutExpiresAt(t.createdAt);
}

/**
 * Marks open top-ups past their 24 hours expired (the worker; Stripe also sends
 * checkout.session.expired for its own). A payment that still arrives is credited:
 * the webhook credits whatever Stripe collected, whatever the status says.
 */
export async function expireAbandonedTopUps(db: DbOrTx, now: Date): Promise<number> {
  const rows = await db
    .update(topups)
    .set({ status: "expired" })
    .where(and(eq(topups.status, "open"), lt(topups.createdAt, new Date(now.getTime() - CHECKOUT_LIFETIME_MS))))
    .returning({ id: topups.id });
  return rows.length;
}

/**
 * The buyer gives up on an open top-up: Stripe's session is expired first (so it can no
 * longer be paid), then the top-up is marked canceled. Throws CONFLICT once it is paid,
 * failed, expired or canceled.
 */
export async function cancelTopUp(db: DbOrTx, payments: Payments, p: { orgId: string; topupId: string; now?: Date }): Promise<void> {
  const topup = await getTopUp(db, p.orgId, p.topupId);
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
