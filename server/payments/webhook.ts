import { eq, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { Db, Tx } from "../../db/client";
import { stripeEvents } from "../../db/schema";
import { WEBHOOK_TOLERANCE_SECONDS, type Payments } from "./config";
import { handlers } from "./handlers";
import { DEFERRED } from "./handlers/deferred";

export type WebhookResult = { status: number; body: { received: boolean; duplicate?: boolean; error?: string } };

export type ProcessOptions = {
  /** Test hook: runs after the handler's writes, inside the transaction (to simulate a crash). */
  afterHandler?: (tx: Tx) => Promise<void> | void;
};

/**
 * The webhook endpoint's work: verify the signature on the raw body, store the
 * event once, then process it. 400 when the signature or timestamp is wrong
 * (nothing written); 500 when processing fails (Stripe redelivers; the stored
 * event is processed then).
 */
export async function receiveWebhook(db: Db, p: { payments: Payments; rawBody: string; signature: string | null } & ProcessOptions): Promise<WebhookResult> {
  const { payments, rawBody, signature, ...opts } = p;
  let event: Stripe.Event;
  try {
    if (!signature) throw new Error("missing Stripe-Signature header");
    event = payments.stripe.webhooks.constructEvent(rawBody, signature, payments.webhookSecret, WEBHOOK_TOLERANCE_SECONDS);
  } catch (err) {
    return { status: 400, body: { received: false, error: `Webhook signature verification failed: ${(err as Error).message}` } };
  }
  await db
    .insert(stripeEvents)
    .values({ id: event.id, type: event.type, livemode: event.livemode, local: payments.mode === "local", payload: event })
    .onConflictDoNothing({ target: stripeEvents.id });
  try {
    const processed = await processEvent(db, { eventId: event.id, ...opts });
    return { status: 200, body: { received: true, duplicate: !processed } };
  } catch (err) {
    await db
      .update(stripeEvents)
      .set({ lastError: String((err as Error).message ?? err) })
      .where(eq(stripeEvents.id, event.id));
    return { status: 500, body: { received: false, error: "processing failed; it will be retried" } };
  }
}

/**
 * Processes a stored event exactly once: the event row is locked, its handler's
 * ledger writes and the processed mark commit together, so a concurrent or
 * later redelivery finds it processed, and a crash before commit leaves nothing.
 * Returns false when it had already been processed.
 */
export async function processEvent(db: Db, p: { eventId: string } & ProcessOptions): Promise<boolean> {
  const { eventId, ...opts } = p;
  return db.transaction(async (tx) => {
    const [row] = await tx.select().from(stripeEvents).where(eq(stripeEvents.id, eventId)).for("update");
    if (!row) throw new Error(`event ${eventId} is not stored`);
    if (row.processedAt) return false;
    const event = row.payload as Stripe.Event;
    const handler = handlers[event.type];
    if (handler && (await handler(tx, event)) === "deferred") {
      // Kept unprocessed: its payment's fulfilment applies it (handlers/deferred.ts). Stripe gets 200.
      await tx.update(stripeEvents).set({ lastError: DEFERRED }).where(eq(stripeEvents.id, eventId));
      return true;
    }
    await opts.afterHandler?.(tx);
    await tx.update(stripeEvents).set({ processedAt: sql`now()`, lastError: null }).where(eq(stripeEvents.id, eventId));
    return true;
  });
}
