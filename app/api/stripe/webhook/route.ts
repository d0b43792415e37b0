import { getDb } from "@/server/db";
import { guardedRoute } from "@/server/errors";
import { BODY_LIMITS, readBodyLimited, tooLarge } from "@/server/lib/body";
import { paymentsFromEnv } from "@/server/payments/runtime";
import { receiveWebhook } from "@/server/payments/webhook";

// The signature covers the exact bytes Stripe sent: read the raw body (at most what an event can be), never re-serialised JSON.
export const POST = guardedRoute("POST /api/stripe/webhook", async (req: Request) => {
  const payments = paymentsFromEnv();
  if (!payments) return Response.json({ error: "payments are not configured" }, { status: 503 });
  const body = await readBodyLimited(req, BODY_LIMITS.stripeWebhook);
  if (!body) return tooLarge(BODY_LIMITS.stripeWebhook);
  const result = await receiveWebhook(getDb(), payments, new TextDecoder().decode(body), req.headers.get("stripe-signature"));
  return Response.json(result.body, { status: result.status });
});
