import "server-only";
import type { Db } from "../../db/client";
import { getDb } from "../db";
import { guardedRoute } from "../internal-errors";
import { BODY_LIMITS, readBodyLimited, tooLarge } from "../lib/body";
import type { Payments } from "./config";
import { receiveWebhook } from "./webhook";

/**
 * A Stripe webhook endpoint: the signature covers the exact bytes Stripe sent, so it reads the raw
 * body (at most what an event can be) and never re-serialised JSON. `payments` is null when the
 * endpoint is not configured; it then answers 503 naming `missing`, and Stripe retries later (and
 * a locally signed event credits nobody). `db`: the web process's own unless a test passes one.
 */
export function stripeWebhookRoute(where: string, payments: () => Payments | null, missing: string, db: () => Db = getDb) {
  return guardedRoute(where, async (req: Request) => {
    const verifier = payments();
    if (!verifier) return Response.json({ error: `${missing} not configured` }, { status: 503 });
    const body = await readBodyLimited(req, BODY_LIMITS.stripeWebhook);
    if (!body) return tooLarge(BODY_LIMITS.stripeWebhook);
    const result = await receiveWebhook(db(), { payments: verifier, rawBody: new TextDecoder().decode(body), signature: req.headers.get("stripe-signature") });
    return Response.json(result.body, { status: result.status });
  });
}
