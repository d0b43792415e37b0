import { getDb } from "@/server/db";
import { paymentsFromEnv } from "@/server/payments/runtime";
import { stripeWebhookRoute } from "@/server/payments/webhook-route";

export const POST = stripeWebhookRoute({ db: getDb, payments: paymentsFromEnv });
