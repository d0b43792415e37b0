import { getDb } from "@/server/db";
import { paymentsFromEnv } from "@/server/payments/runtime";
import { receiveWebhook } from "@/server/payments/webhook";

// The signature covers the exact bytes Stripe sent: read the raw body, never re-serialised JSON.
export async function POST(req: Request) {
  const payments = paymentsFromEnv();
  if (!payments) return Response.json({ error: "payments are not configured" }, { status: 503 });
  const raw = await req.text();
  const result = await receiveWebhook(getDb(), payments, raw, req.headers.get("stripe-signature"));
  return Response.json(result.body, { status: result.status });
}
