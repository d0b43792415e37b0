import { stripeWebhookRoute } from "@/server/payments/webhook-route";
import { connectWebhookPayments } from "@/server/payouts/runtime";

// Connect events (connected accounts' account.updated and payout.*) come to their own endpoint, signed with its own secret.
export const POST = stripeWebhookRoute("POST /api/stripe/connect-webhook", connectWebhookPayments, "Connect webhooks (STRIPE_CONNECT_WEBHOOK_SECRET) are");
