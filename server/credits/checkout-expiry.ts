import { and, eq, lt } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { topups } from "../../db/schema";
import type { TopUp } from "./store";

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
export async function expireAbandonedTopUps(db: DbOrTx, p: { now: Date }): Promise<number> {
  const { now } = p;
  const rows = await db
    .update(topups)
    .set({ status: "expired" })
    .where(and(eq(topups.status, "open"), lt(topups.createdAt, new Date(now.getTime() - CHECKOUT_LIFETIME_MS))))
    .returning({ id: topups.id });
  return rows.length;
}
