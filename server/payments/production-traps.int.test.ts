import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { eq } from "drizzle-orm";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stripeEvents, topups } from "../../db/schema";
import { MAX_BATCH_SIZE } from "../api/limits";
import { appRouter } from "../api/root";
import type { SessionUser } from "../api/trpc";
import { orgCreditBalance } from "../credits/postings";
import { parseEnv, type Env } from "../env";
import { createTestDb, type TestDb } from "../testing/db";
import { makeOrg, makeUser, testServiceTokens } from "../testing/fixtures";
import { createPayments, paymentsForEnv } from "./config";
import { localCheckoutEvent, signPayload } from "./local-checkout";
import { paymentsRuntimeFor } from "./runtime";
import { stripeWebhookRoute } from "./webhook-route";

// Issue #15 acceptance 1: without both Stripe keys the platform ran the local checkout (free credit)
// even with NODE_ENV=production. Here the app's own wiring (tRPC over HTTP, the webhook route) runs
// on a real database under a production environment passed in, not read from process.env.
const LOCAL_SECRET = "whsec_local_production_trap_0123456789";
const production = parseEnv({ NODE_ENV: "production", STRIPE_LOCAL_WEBHOOK_SECRET: LOCAL_SECRET, APP_URL: "https://app.test" });
const productionLocal = parseEnv({ NODE_ENV: "production", STRIPE_LOCAL_WEBHOOK_SECRET: LOCAL_SECRET, APP_URL: "https://app.test", LOCAL_CHECKOUT: "true" });

let t: TestDb;
let owner: SessionUser;
let orgId: string;
beforeAll(async () => {
  t = await createTestDb();
  owner = await makeUser(t.db, "prod-owner");
  orgId = (await makeOrg(t.db, owner)).id;
});
afterAll(() => t.close());

/** The web app as it is wired for `e`: the webhook route, and tRPC whose local checkout delivers to that route. */
function appFor(e: Env) {
  const payments = paymentsForEnv(e);
  const webhook = stripeWebhookRoute(
    "POST /api/stripe/webhook",
    () => payments,
    "payments are",
    () => t.db,
  );
  const post = (payload: string, signature: string) =>
    webhook(
      new Request(`${e.APP_URL}/api/stripe/webhook`, {
        method: "POST",
        headers: { "content-type": "application/json", "stripe-signature": signature },
        body: payload,
      }),
    );
  const runtime = paymentsRuntimeFor(e, payments, async (payload, signature) => ({ status: (await post(payload, signature)).status }));
  // A mutation with `input`; a query (GET) without.
  const trpc = async (path: string, input?: unknown) => {
    const init =
      input === undefined
        ? { method: "GET" }
        : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(superjson.serialize(input)) };
    const res = await fetchRequestHandler({
      endpoint: "/api/trpc",
      req: new Request(`${e.APP_URL}/api/trpc/${path}`, init),
      router: appRouter,
      maxBatchSize: MAX_BATCH_SIZE,
      createContext: () => ({ db: t.db, user: owner, serviceToken: null, matchServiceToken: testServiceTokens, payments: runtime }),
    });
    const body = (await res.json()) as { result?: { data: { json: unknown } }; error?: { json: { message: string; data: { code: string } } } };
    return { status: res.status, data: body.result?.data.json, error: body.error?.json };
  };
  return { post, trpc };
}

/** A checkout.session.completed for `topupId`, signed with the local secret as the local checkout would. */
async function signedLocalEvent(topupId: string) {
  const [topup] = await t.db.select().from(topups).where(eq(topups.id, topupId));
  const payload = JSON.stringify(localCheckoutEvent(topup!, "checkout.session.completed", "paid"));
  return { payload, signature: signPayload(createPayments({ localWebhookSecret: LOCAL_SECRET }).stripe, payload, LOCAL_SECRET) };
}

const creditNano = async () => (await orgCreditBalance(t.db, { orgId: orgId })).balanceNano;

describe("NODE_ENV=production without Stripe keys", () => {
  it("refuses top-ups, the local checkout and locally signed events, and writes no credit", async () => {
    expect(paymentsForEnv(production)).toBeNull();
    // A checkout opened while the platform still ran the local checkout (LOCAL_CHECKOUT=true before a restart).
    const opened = await appFor(productionLocal).trpc("credits.createTopUp", { amountUsd: "25" });
    expect(opened.status).toBe(200);
    const topupId = (opened.data as { id: string }).id;
    const prod = appFor(production);

    const start = await prod.trpc("credits.createTopUp", { amountUsd: "25" });
    expect(start.status).toBe(412);
    expect(start.error?.message).toBe("Top-ups are not available: the platform has no payment provider configured");

    const pay = await prod.trpc("credits.payLocally", { topupId, outcome: "pay" });
    expect(pay.status).toBe(412);
    expect(pay.error?.message).toMatch(/Top-ups are not available/);

    const { payload, signature } = await signedLocalEvent(topupId);
    const res = await prod.post(payload, signature);
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({ error: "payments are not configured" });

    expect(await t.db.select().from(stripeEvents)).toEqual([]);
    expect((await t.db.select().from(topups).where(eq(topups.id, topupId)))[0]!.status).toBe("open");
    expect(await creditNano()).toBe(0n);
    // The balance still reads (it is the ledger's); only top-ups are not offered.
    const balance = await prod.trpc("credits.balance");
    expect(balance.status).toBe(200);
    expect(balance.data).toMatchObject({ paymentsMode: "off", canTopUp: false, topUpsOff: true, limits: null });
  });

  it("with LOCAL_CHECKOUT=true the same path credits the organisation", async () => {
    const app = appFor(productionLocal);
    const before = await creditNano();
    const start = await app.trpc("credits.createTopUp", { amountUsd: "25" });
    expect(start.status).toBe(200);
    const topupId = (start.data as { id: string }).id;
    expect((await app.trpc("credits.payLocally", { topupId, outcome: "pay" })).status).toBe(200);
    expect(await creditNano()).toBe(before + 25_000_000_000n);
    // Delivered again (a Stripe-style retry) it is a duplicate, not a second credit.
    const { payload, signature } = await signedLocalEvent(topupId);
    const again = await app.post(payload, signature);
    expect(again.status).toBe(200);
    expect(await again.json()).toEqual({ received: true, duplicate: true });
    expect(await creditNano()).toBe(before + 25_000_000_000n);
  });
});
