import type { Db } from "../../db/client";
import { guardedRoute } from "../errors";
import { BODY_LIMITS, readBodyLimited, tooLarge } from "../lib/body";
import type { Payments } from "./config";
import { receiveWebhook } from "./webhook";

/**
 * POST /api/stripe/webhook, given its database and payments configuration (the route
 * passes the process's own; tests pass a production configuration without touching env).
 * The signature covers the exact bytes Stripe sent: the raw body is read (at most what an
 * event can be), never re-serialised JSON. Without payments (production missing a Stripe
 * key) every event is refused with 503, so a locally signed one cannot credit anyone.
 */
export function stripeWebhookRoute(deps: { db: () => Db; payments: () => Payments | null }) {
  return guardedRoute("POST /api/stripe/webhook", async (req: Request) => {
    const payments = deps.payments();
    if (!payments) return Response.json({ error: "payments are not configured" }, { status: 503 });
    const body = await readBodyLimited(req, BODY_LIMITS.stripeWebhook);
    if (!body) return tooLarge(BODY_LIMITS.stripeWebhook);
    const result = await receiveWebhook(deps.db(), payments, new TextDecoder().decode(body), req.headers.get("stripe-signature"));
    return Response.json(result.body, { status: result.status });
  });
}
