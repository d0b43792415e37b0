import { sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { Tx } from "../../../db/client";
import { onDisputeClosed, onDisputeCreated } from "./charge-dispute";
import { onChargeRefunded } from "./charge-refunded";

/** Marks a stored event that waits for its payment's fulfilment (processed_at stays null). */
export const DEFERRED = "deferred: its payment is not fulfilled yet; applied when it is";

const waiting: Record<string, (tx: Tx, event: Stripe.Event) => Promise<void | "deferred">> = {
  "charge.refunded": onChargeRefunded,
  "charge.dispute.created": onDisputeCreated,
  "charge.dispute.closed": onDisputeClosed,
};

/**
 * Applies, in Stripe's order, the refunds and disputes of a payment that arrived before its
 * checkout was fulfilled, inside the fulfilment's transaction: whatever order Stripe
 * delivered them in, the buyer ends with the same net credit.
 */
export async function applyDeferred(tx: Tx, p: { paymentIntentId: string | null }) {
  const { paymentIntentId } = p;
  if (!paymentIntentId) return;
  const { rows } = await tx.execute<{ id: string; payload: Stripe.Event }>(sql`
    select id, payload from stripe_events
    where processed_at is null and last_error = ${DEFERRED} and type in ('charge.refunded', 'charge.dispute.created', 'charge.dispute.closed')
      and payload->'data'->'object'->>'payment_intent' = ${paymentIntentId}
    order by (payload->>'created')::int8, id for update`);
  for (const row of rows) {
    if ((await waiting[row.payload.type]!(tx, row.payload)) === "deferred") continue;
    await tx.execute(sql`update stripe_events set processed_at = now(), last_error = null where id = ${row.id}`);
  }
}
