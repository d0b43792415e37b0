import { paymentsFromEnv } from "@/server/payments/runtime";
import { stripeWebhookRoute } from "@/server/payments/webhook-route";

export const POST = stripeWebhookRoute("POST /api/stripe/webhook", paymentsFromEnv, "payments are");
