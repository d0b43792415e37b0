import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topups } from "../../db/schema";
import { fulfilTopUp } from "../credits/postings";
import { uuidv7 } from "../lib/ids";
import { parseUsd } from "../ledger/money";
import { createPayments } from "../payments/config";
import { createTestDb, type TestDb } from "../testing/db";
import { makeOrg, makeUser } from "../testing/fixtures";
import { monthOf } from "./period";
import { paymentsReport } from "./reconcile";

// A local HTTP server stands in for api.stripe.com at the SDK's host and port, as in
// server/payments/stripe-api.int.test.ts: the real SDK lists balance transactions from it.
let seen: URL[] = [];
let balanceTransactions: object[] = [];
const server = http.createServer((req, res) => {
  const url = new URL(req.url!, "http://stripe.local");
  seen.push(url);
  res.writeHead(url.pathname === "/v1/balance_transactions" ? 200 : 404, { "content-type": "application/json", "request-id": "req_local" });
  res.end(JSON.stringify({ object: "list", url: "/v1/balance_transactions", has_more: false, data: balanceTransactions }));
});

let t: TestDb;
let port = 0;
beforeAll(async () => {
  t = await createTestDb();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  // A paid Stripe top-up of $50 (pi_test_1) credited through the ledger as the webhook would.
  const user = await makeUser(t.db, "buyer");
  const org = await makeOrg(t.db, user);
  const [topup] = await t.db
    .insert(topups)
    .values({ id: uuidv7(), orgId: org.id, createdBy: user.id, amountCents: 5000, mode: "stripe", checkoutSessionId: "cs_test_1" })
    .returning();
  await t.db.transaction((tx) => fulfilTopUp(tx, { topup: topup!, sessionId: "cs_test_1", paymentIntentId: "pi_test_1", amountTotalCents: 5000 }));
});
afterAll(async () => {
  server.close();
  await t.close();
});

const stripe = () =>
  createPayments({ secretKey: "sk_test_local_fake", webhookSecret: "whsec_fake", apiHost: { host: "127.0.0.1", port, protocol: "http" } }).stripe;
const range = () => ({ from: monthOf(new Date()).startsAt, to: monthOf(new Date()).endsAt });
const bt = (id: string, type: string, amount: number, source: object) => ({
  id,
  object: "balance_transaction",
  type,
  amount,
  fee: 0,
  created: Math.floor(Date.now() / 1000),
  source,
});

describe("payments ↔ ledger in Stripe mode", () => {
  it("passes when Stripe's balance transactions match the stored payment, and asks for the period with sources expanded", async () => {
    seen = [];
    balanceTransactions = [bt("txn_1", "charge", 5000, { object: "charge", id: "ch_1", payment_intent: "pi_test_1" })];
    const report = await paymentsReport(t.db, { ...range(), stripe: stripe() });
    expect(report.status).toBe("pass");
    expect(report.figures).toContainEqual({ label: "Stripe balance transactions, gross", nano: parseUsd("50") });
    const req = seen[0]!;
    expect(req.pathname).toBe("/v1/balance_transactions");
    expect(req.searchParams.get("created[gte]")).toBe(String(Math.floor(range().from.getTime() / 1000)));
    expect(req.searchParams.get("created[lt]")).toBe(String(Math.floor(range().to.getTime() / 1000)));
    expect([...req.searchParams].filter(([k]) => k.startsWith("expand"))).toEqual([["expand[0]", "data.source"]]);
  });

  it("a refund at Stripe that never reached us fails, naming the payment intent and both figures", async () => {
    balanceTransactions = [
      bt("txn_1", "charge", 5000, { object: "charge", id: "ch_1", payment_intent: "pi_test_1" }),
      bt("txn_2", "refund", -1200, { object: "refund", id: "re_1", payment_intent: "pi_test_1", charge: "ch_1" }),
      bt("txn_3", "payout", -9999, { object: "payout", id: "po_1" }),
    ];
    const report = await paymentsReport(t.db, { ...range(), stripe: stripe() });
    expect(report.status).toBe("fail");
    expect(report.differences).toEqual([
      {
        ref: "pi:pi_test_1",
        detail: "stored 50000000000 vs Stripe balance transactions 38000000000",
        expectedNano: parseUsd("50"),
        actualNano: parseUsd("38"),
      },
    ]);
  });
});
