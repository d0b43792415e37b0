import { getDb } from "@/server/db";
import { receiveWebhook } from "@/server/payments/webhook";
import { connectWebhookPayments } from "@/server/payouts/runtime";

// Connect events (connected accounts' account.updated and payout.*) come to their own endpoint, signed with its own secret.
export async function POST(req: Request) {
  const payments = connectWebhookPayments();
  if (!payments) return Response.json({ received: false, error: "Connect webhooks are not configured (STRIPE_CONNECT_WEBHOOK_SECRET)" }, { status: 400 });
  const raw = await req.text();
  const result = await receiveWebhook(getDb(), payments, raw, req.headers.get("stripe-signature"));
  return Response.json(result.body, { status: result.status });
}
