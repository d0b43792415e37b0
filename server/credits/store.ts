import { and, desc, eq } from "drizzle-orm";
import type Stripe from "stripe";
import type { DbOrTx, Tx } from "../../db/client";
import { topups } from "../../db/schema";

export type TopUp = typeof topups.$inferSelect;

/**
 * The top-up a Checkout Session pays for, locked for the rest of the transaction.
 * Found by the session id, else by our top-up id in the metadata (and the
 * organisation there must match): sessions that are not ours are ignored.
 */
export async function lockTopUp(tx: Tx, p: { session: Pick<Stripe.Checkout.Session, "id" | "metadata" | "client_reference_id"> }): Promise<TopUp | null> {
  const { session } = p;
  const [bySession] = await tx.select().from(topups).where(eq(topups.checkoutSessionId, session.id)).for("update");
  if (bySession) return bySession;
  const topupId = session.metadata?.topup_id ?? session.client_reference_id;
  const orgId = session.metadata?.org_id;
  if (!topupId || !orgId || !/^[0-9a-f-]{36}$/i.test(topupId)) return null;
  const [row] = await tx
    .select()
    .from(topups)
    .where(and(eq(topups.id, topupId), eq(topups.orgId, orgId)))
    .for("update");
  return row ?? null;
}

/** The top-up a payment intent paid for, locked for the rest of the transaction. */
export async function lockTopUpByPaymentIntent(tx: Tx, p: { paymentIntentId: string }): Promise<TopUp | null> {
  const [row] = await tx.select().from(topups).where(eq(topups.paymentIntentId, p.paymentIntentId)).for("update");
  return row ?? null;
}

/** An organisation's top-ups, newest first. */
export function listTopUps(db: DbOrTx, p: { orgId: string; limit?: number }) {
  return db
    .select()
    .from(topups)
    .where(eq(topups.orgId, p.orgId))
    .orderBy(desc(topups.createdAt))
    .limit(p.limit ?? 50);
}

/** One of an organisation's top-ups; null when it has no such top-up. */
export async function getTopUp(db: DbOrTx, p: { orgId: string; topupId: string }): Promise<TopUp | null> {
  const [row] = await db
    .select()
    .from(topups)
    .where(and(eq(topups.id, p.topupId), eq(topups.orgId, p.orgId)));
  return row ?? null;
}
