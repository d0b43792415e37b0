import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectAccounts, connectPayouts } from "../../db/schema";
import { uuidv7 } from "../lib/ids";
import { checkInvariants } from "../ledger/service";
import { createPayments } from "../payments/config";
import { receiveWebhook } from "../payments/webhook";
import { createTestDb, type TestDb } from "../testing/db";
import { startStripeStandIn, type StripeStandIn } from "../testing/stripe-standin";
import { reportUsage } from "../usage/settlement";
import { makeBuyer, makeEvent } from "../usage/testing";
import { payoutStatement, providerEarnings } from "./earnings";
import { completeLocalOnboarding, connectApiFor, localConnectEvent, localPayoutObject, localTransferObject } from "./local-connect";
import { connectOnboardingLink, connectStatus, previewRun, runPayouts } from "./service";
import { payoutFixtures, usd } from "./testing";

/**
 * Connect payouts with Stripe's own SDK against a local stand-in for its API; events are
 * signed with the SDK's helper and go through the webhook endpoint's code.
 */

const SECRET = "whsec_standin_secret_0123456789";
const $ = usd;
const MIN_CENTS = 1000;

let t: TestDb;
let stripe: StripeStandIn;
beforeAll(async () => {
  t = await createTestDb();
  stripe = await startStripeStandIn(SECRET);
  f = payoutFixtures(t.db, stripe, SECRET);
});
afterAll(async () => {
  await stripe.close();
  await t.close();
});

let f: ReturnType<typeof payoutFixtures>;
const api = () => f.api();
const send = (event: object) => f.send(event);
const providerEarning = (dollars: number) => f.providerEarning(dollars);
const onboard = (orgId: string) => f.onboard(orgId);
const funded = (orgId: string) => f.funded(orgId);
const accountEvent = (accountId: string, enabled: boolean, created: number) => f.accountEvent(accountId, enabled, created);
const postings = async (payoutId: string) =>
  (await t.db.execute<{ n: number }>(sql`select count(*)::int as n from ledger_transfers where ref_kind = 'connect_payout' and ref_id = ${payoutId}`)).rows[0]!
    .n;
const transfersTo = (accountId: string) => stripe.transfers.filter((x) => x.destination === accountId);

describe("onboarding", () => {
  it("creates an Express account and an onboarding link; account.updated enables payouts, an older event does not undo it", async () => {
    const orgId = await providerEarning(5);
    const { url } = await connectOnboardingLink(t.db, { api: api(), orgId, appUrl: "http://app.test", local: false });
    const created = stripe.requests.find((r) => r.path === "/v1/accounts" && r.idempotencyKey === `connect-account-${orgId}`)!;
    expect(created.body.get("controller[stripe_dashboard][type]")).toBe("express");
    expect(created.body.get("capabilities[transfers][requested]")).toBe("true");
    const link = [...stripe.requests].reverse().find((r) => r.path === "/v1/account_links")!;
    expect(link.body.get("type")).toBe("account_onboarding");
    expect(link.body.get("return_url")).toBe("http://app.test/earnings?connect=return");
    expect(link.body.get("refresh_url")).toBe("http://app.test/earnings?connect=refresh");
    const status = await connectStatus(t.db, { orgId: orgId });
    expect(url).toBe(`https://connect.stripe.test/setup/e/${status!.accountId}`);
    expect(status).toMatchObject({ detailsSubmitted: false, payoutsEnabled: false });

    const at = Math.floor(Date.now() / 1000);
    await send(accountEvent(status!.accountId, true, at));
    await send(accountEvent(status!.accountId, false, at - 60));
    expect(await connectStatus(t.db, { orgId: orgId })).toMatchObject({ detailsSubmitted: true, payoutsEnabled: true });
    // A second link reuses the account.
    await connectOnboardingLink(t.db, { api: api(), orgId, appUrl: "http://app.test", local: false });
    expect(await t.db.select().from(connectAccounts).where(eq(connectAccounts.orgId, orgId))).toHaveLength(1);
  });
});

describe("payout runs", () => {
  it("a run over three providers pays only the onboarded one above the minimum; re-running it pays nothing twice", async () => {
    const due = await providerEarning(40);
    const small = await providerEarning(5);
    const unconnected = await providerEarning(30);
    const dueAccount = await onboard(due);
    const smallAccount = await onboard(small);
    const orgIds = [due, small, unconnected];
    const preview = await previewRun(t.db, { minimumCents: MIN_CENTS, orgIds });
    expect(Object.fromEntries(preview.map((l) => [l.orgId, [l.decision, l.amountCents]]))).toEqual({
      [due]: ["pay", 4000],
      [small]: ["below_minimum", 500],
      [unconnected]: ["not_onboarded", 3000],
    });

    const runId = uuidv7();
    const paid = await runPayouts(t.db, { api: api(), runId, orgIds, minimumCents: MIN_CENTS, userId: null });
    expect(paid.map((p) => [p.orgId, p.amountCents, p.status])).toEqual([[due, 4000, "in_transit"]]);
    expect(transfersTo(dueAccount)).toHaveLength(1);
    expect(transfersTo(dueAccount)[0]).toMatchObject({ amount: 4000, transfer_group: paid[0]!.id, metadata: { payout_id: paid[0]!.id } });
    expect([...stripe.requests].reverse().find((r) => r.path === "/v1/transfers" && r.method === "POST")!.idempotencyKey).toBe(paid[0]!.id);
    expect(transfersTo(smallAccount)).toHaveLength(0);
    expect(await funded(due)).toBe(0n);

    const again = await runPayouts(t.db, { api: api(), runId, orgIds, minimumCents: MIN_CENTS, userId: null });
    expect(again.map((p) => p.id)).toEqual(paid.map((p) => p.id));
    expect(transfersTo(dueAccount)).toHaveLength(1);
    expect(await postings(paid[0]!.id)).toBe(1);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a crash after Stripe's answer and before it is recorded ends with one transfer and one posting", async () => {
    const orgId = await providerEarning(25);
    const account = await onboard(orgId);
    const runId = uuidv7();
    const run = { runId, orgIds: [orgId], minimumCents: MIN_CENTS, userId: null };
    await expect(
      runPayouts(t.db, {
        api: api(),
        ...run,
        afterTransfer: () => {
          throw new Error("killed");
        },
      }),
    ).rejects.toThrow("killed");
    const [unsent] = await t.db.select().from(connectPayouts).where(eq(connectPayouts.runId, runId));
    expect(unsent).toMatchObject({ status: "created", stripeTransferId: null });
    expect(transfersTo(account)).toHaveLength(1);

    // "Restart": the same run again (any later run would resume it too).
    const [payout] = await runPayouts(t.db, { api: api(), ...run });
    expect(payout).toMatchObject({ status: "in_transit", stripeTransferId: transfersTo(account)[0]!.id });
    expect(transfersTo(account)).toHaveLength(1);
    expect(await postings(payout!.id)).toBe(1);
  });

  it("two runs at once never pay more than is funded", async () => {
    const orgId = await providerEarning(50);
    const account = await onboard(orgId);
    const runs = await Promise.all([0, 1].map(() => runPayouts(t.db, { api: api(), runId: uuidv7(), orgIds: [orgId], minimumCents: MIN_CENTS, userId: null })));
    const all = runs.flat();
    expect(all).toHaveLength(1);
    expect(all[0]!.amountCents).toBe(5000);
    expect(transfersTo(account)).toHaveLength(1);
    expect(await funded(orgId)).toBe(0n);
  });
});

describe("payout outcomes by webhook", () => {
  async function paidOut(dollars: number) {
    const orgId = await providerEarning(dollars);
    const account = await onboard(orgId);
    const [payout] = await runPayouts(t.db, { api: api(), runId: uuidv7(), orgIds: [orgId], minimumCents: MIN_CENTS, userId: null });
    const transfer = transfersTo(account)[0]!;
    return { orgId, account, payout: payout!, transfer };
  }
  const status = async (id: string) => (await t.db.select().from(connectPayouts).where(eq(connectPayouts.id, id)))[0]!;

  it("delivered twice and out of order: paid before created still ends paid, once", async () => {
    const { account, payout, transfer } = await paidOut(20);
    const paidEvent = localConnectEvent("payout.paid", localPayoutObject({ payoutId: payout.id, amountCents: 2000, status: "paid" }), account, [
      payout.id,
      "paid",
    ]);
    const createdEvent = localConnectEvent("transfer.created", { ...transfer }, null, [payout.id, "created"]);
    for (const e of [paidEvent, paidEvent, createdEvent, createdEvent]) expect((await send(e)).status).toBe(200);
    expect(await status(payout.id)).toMatchObject({ status: "paid", stripeTransferId: transfer.id, stripePayoutId: `po_local_${payout.id.replace(/-/g, "")}` });
    expect(await postings(payout.id)).toBe(1);
  });

  it("a transfer.reversed after the payout was paid returns the amount to the funded payable, once", async () => {
    const { orgId, account, payout, transfer } = await paidOut(30);
    await send(localConnectEvent("payout.paid", localPayoutObject({ payoutId: payout.id, amountCents: 3000, status: "paid" }), account, [payout.id, "paid"]));
    expect(await funded(orgId)).toBe(0n);
    const reversed = localConnectEvent("transfer.reversed", { ...transfer, amount_reversed: 3000, reversed: true }, null, [payout.id, "reversed"]);
    await send(reversed);
    await send(reversed);
    expect(await status(payout.id)).toMatchObject({ status: "reversed", reversedCents: 3000 });
    expect(await funded(orgId)).toBe($(30));
    expect(await postings(payout.id)).toBe(2);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a partial reversal then a failed bank payout return the amount exactly once in total", async () => {
    const { orgId, account, payout, transfer } = await paidOut(30);
    await send(localConnectEvent("transfer.reversed", { ...transfer, amount_reversed: 1000 }, null, [payout.id, "rev1000"]));
    expect(await funded(orgId)).toBe($(10));
    await send(
      localConnectEvent("payout.failed", localPayoutObject({ payoutId: payout.id, amountCents: 3000, status: "failed" }), account, [payout.id, "failed"]),
    );
    await send(localConnectEvent("transfer.reversed", { ...transfer, amount_reversed: 3000 }, null, [payout.id, "rev3000"]));
    expect(await funded(orgId)).toBe($(30));
    expect(await status(payout.id)).toMatchObject({ status: "failed", failureReason: "The bank account has been closed" });
  });

  it("an event naming another connected account changes nothing", async () => {
    const { payout } = await paidOut(15);
    await send(
      localConnectEvent("payout.failed", localPayoutObject({ payoutId: payout.id, amountCents: 1500, status: "failed" }), "acct_someone_else", [
        payout.id,
        "x",
      ]),
    );
    expect((await status(payout.id)).status).toBe("in_transit");
  });
});

describe("without Stripe keys", () => {
  it("the local stand-in onboards and pays through the same services and webhook handlers", async () => {
    const payments = createPayments({ localWebhookSecret: "whsec_local_test_secret_0123456789" });
    const deliver = (payload: string, signature: string) => receiveWebhook(t.db, { payments, rawBody: payload, signature });
    const local = connectApiFor(payments, deliver);
    const orgId = await providerEarning(12);
    const { url } = await connectOnboardingLink(t.db, { api: local, orgId, appUrl: "http://app.test", local: true });
    expect(url).toBe("/earnings/connect");
    const account = (await connectStatus(t.db, { orgId: orgId }))!.accountId;
    await completeLocalOnboarding(payments, account, deliver);
    expect(await connectStatus(t.db, { orgId: orgId })).toMatchObject({ payoutsEnabled: true });
    const [payout] = await runPayouts(t.db, { api: local, runId: uuidv7(), orgIds: [orgId], minimumCents: MIN_CENTS, userId: null });
    expect(payout).toMatchObject({
      status: "paid",
      amountCents: 1200,
      stripeTransferId: localTransferObject({ payoutId: payout!.id, accountId: account, amountCents: 1200 }).id,
    });
    expect(await funded(orgId)).toBe(0n);
  });
});

describe("the provider's view", () => {
  it("earnings show funded, unfunded with why, paid, in transit and failed; a statement lists the settlements a payout covers", async () => {
    const orgId = await providerEarning(20);
    const account = await onboard(orgId);
    const [first] = await runPayouts(t.db, { api: api(), runId: uuidv7(), orgIds: [orgId], minimumCents: MIN_CENTS, userId: null });
    await send(localConnectEvent("payout.paid", localPayoutObject({ payoutId: first!.id, amountCents: 2000, status: "paid" }), account, [first!.id, "paid"]));
    // More earnings, paid out and still in transit.
    const { rows } = await t.db.execute<{ id: string }>(sql`select id from listings where org_id = ${orgId}::uuid`);
    const buyer = await makeBuyer(t.db, { creditNano: $(15) });
    await reportUsage(t.db, {
      events: [makeEvent({ keyId: buyer.keyIds[0]!, listingId: rows[0]!.id, inputTokens: 15_000, outputTokens: 0 })],
      service: { kind: "platform" },
      defaultFeeBps: 0,
      settle: "inline",
    });
    const [second] = await runPayouts(t.db, { api: api(), runId: uuidv7(), orgIds: [orgId], minimumCents: MIN_CENTS, userId: null });
    // And usage past a buyer's credit: unfunded.
    const broke = await makeBuyer(t.db, { creditNano: 0n });
    await reportUsage(t.db, {
      events: [makeEvent({ keyId: broke.keyIds[0]!, listingId: rows[0]!.id, inputTokens: 7_000, outputTokens: 0 })],
      service: { kind: "platform" },
      defaultFeeBps: 0,
      settle: "inline",
    });

    const e = await providerEarnings(t.db, { orgId: orgId });
    expect(e).toMatchObject({ fundedNano: 0n, unfundedNano: $(7), paidNano: $(20), inTransitNano: $(15), failedNano: 0n });
    expect(e.waiting).toEqual([expect.objectContaining({ settlements: 1, unfundedNano: $(7) })]);
    expect(e.payouts.map((p) => [p.id, p.status, p.reference])).toEqual([
      [second!.id, "in_transit", second!.stripeTransferId],
      [first!.id, "paid", first!.stripeTransferId],
    ]);

    const s1 = await payoutStatement(t.db, { orgId: orgId, payoutId: first!.id });
    const s2 = await payoutStatement(t.db, { orgId: orgId, payoutId: second!.id });
    expect([s1.settlements.length, s1.earnedNano]).toEqual([1, $(20)]);
    expect([s2.settlements.length, s2.earnedNano]).toEqual([1, $(15)]);
    // Another provider cannot read it.
    const other = await providerEarning(1);
    await expect(payoutStatement(t.db, { orgId: other, payoutId: first!.id })).rejects.toMatchObject({ code: "NOT_FOUND" });
  });
});
