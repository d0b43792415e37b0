import http from "node:http";
import type { AddressInfo } from "node:net";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topups } from "../../db/schema";
import { cancelTopUp, createTopUp } from "./checkout";
import { createTestDb, type TestDb } from "../testing/db";
import { makeOrg, makeUser } from "../testing/fixtures";
import { createPayments } from "./config";

// A local HTTP server stands in for api.stripe.com at the SDK's configurable
// host and port: the test asserts what the real SDK sends. Nothing leaves the machine.
type Seen = { method: string; path: string; headers: http.IncomingHttpHeaders; body: URLSearchParams };
let seen: Seen[] = [];
let respond: (path: string) => { status: number; json: object } = () => ({ status: 404, json: {} });
const server = http.createServer((req, res) => {
  let raw = "";
  req.on("data", (c) => (raw += c));
  req.on("end", () => {
    seen.push({ method: req.method!, path: req.url!, headers: req.headers, body: new URLSearchParams(raw) });
    const r = respond(req.url!);
    res.writeHead(r.status, { "content-type": "application/json", "request-id": "req_local" });
    res.end(JSON.stringify(r.json));
  });
});

let t: TestDb;
let port = 0;
beforeAll(async () => {
  t = await createTestDb();
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.close();
  await t.close();
});

const stripeMode = () =>
  createPayments({ secretKey: "sk_test_local_fake", webhookSecret: "whsec_fake", apiHost: { host: "127.0.0.1", port, protocol: "http" } });
const limits = { minCents: 500, maxCents: 1_000_000 };

describe("Stripe Checkout through the SDK", () => {
  it("creates a payment-mode session with the organisation and top-up in metadata and an idempotency key", async () => {
    seen = [];
    respond = () => ({ status: 200, json: { id: "cs_test_123", object: "checkout.session", url: "https://checkout.stripe.test/c/cs_test_123" } });
    const user = await makeUser(t.db, "buyer");
    const org = await makeOrg(t.db, user);
    const result = await createTopUp(t.db, {
      payments: stripeMode(),
      orgId: org.id,
      userId: user.id,
      amountUsd: "25",
      limits,
      appUrl: "http://localhost:3000",
    });

    expect(result.checkoutUrl).toBe("https://checkout.stripe.test/c/cs_test_123");
    expect(seen).toHaveLength(1);
    const req = seen[0]!;
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/v1/checkout/sessions");
    expect(req.headers.authorization).toBe("Bearer sk_test_local_fake");
    expect(req.headers["idempotency-key"]).toBe(`topup-${result.id}`);
    expect(req.body.get("mode")).toBe("payment");
    expect(req.body.get("metadata[topup_id]")).toBe(result.id);
    expect(req.body.get("metadata[org_id]")).toBe(org.id);
    expect(req.body.get("payment_intent_data[metadata][topup_id]")).toBe(result.id);
    expect(req.body.get("client_reference_id")).toBe(result.id);
    expect(req.body.get("line_items[0][price_data][unit_amount]")).toBe("2500");
    expect(req.body.get("line_items[0][price_data][currency]")).toBe("usd");
    expect(req.body.get("success_url")).toBe(`http://localhost:3000/credits?topup=${result.id}`);

    const [row] = await t.db.select().from(topups).where(eq(topups.id, result.id));
    expect(row).toMatchObject({ mode: "stripe", status: "open", checkoutSessionId: "cs_test_123", amountCents: 2500 });
  });

  it("a Stripe error marks the top-up failed and says Stripe could not start the checkout", async () => {
    seen = [];
    respond = () => ({ status: 400, json: { error: { type: "invalid_request_error", message: "Amount too small" } } });
    const user = await makeUser(t.db, "buyer");
    const org = await makeOrg(t.db, user);
    await expect(
      createTopUp(t.db, { payments: stripeMode(), orgId: org.id, userId: user.id, amountUsd: "25", limits, appUrl: "http://localhost:3000" }),
    ).rejects.toThrow(/Stripe could not start the checkout: Amount too small/);
    const rows = await t.db.select().from(topups).where(eq(topups.orgId, org.id));
    expect(rows.map((r) => r.status)).toEqual(["failed"]);
  });

  it("cancelling an open top-up expires its Checkout Session first; if Stripe refuses, the top-up stays open", async () => {
    const user = await makeUser(t.db, "buyer");
    const org = await makeOrg(t.db, user);
    respond = () => ({ status: 200, json: { id: "cs_test_cancel", object: "checkout.session", url: "https://checkout.stripe.test/c/cs_test_cancel" } });
    const { id } = await createTopUp(t.db, {
      payments: stripeMode(),
      orgId: org.id,
      userId: user.id,
      amountUsd: "25",
      limits,
      appUrl: "http://localhost:3000",
    });

    seen = [];
    respond = () => ({ status: 400, json: { error: { type: "invalid_request_error", message: "Session is already complete" } } });
    await expect(cancelTopUp(t.db, { payments: stripeMode(), orgId: org.id, topupId: id })).rejects.toThrow(
      /Stripe could not cancel the checkout: Session is already complete/,
    );
    expect((await t.db.select().from(topups).where(eq(topups.id, id)))[0]!.status).toBe("open");

    seen = [];
    respond = () => ({ status: 200, json: { id: "cs_test_cancel", object: "checkout.session", status: "expired" } });
    await cancelTopUp(t.db, { payments: stripeMode(), orgId: org.id, topupId: id });
    expect(seen.map((r) => `${r.method} ${r.path}`)).toEqual(["POST /v1/checkout/sessions/cs_test_cancel/expire"]);
    expect((await t.db.select().from(topups).where(eq(topups.id, id)))[0]!.status).toBe("canceled");
  });
});
