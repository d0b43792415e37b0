import { eq } from "drizzle-orm";
import type Stripe from "stripe";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stripeEvents, topups } from "../../db/schema";
import { uuidv7 } from "../lib/ids";
import { NANO_PER_CENT } from "../ledger/money";
import { checkInvariants, ensureAccount, postTransfers } from "../ledger/service";
import { createPayments } from "../payments/config";
import { localCheckoutEvent, localIds, signPayload } from "../payments/local-checkout";
import { receiveWebhook } from "../payments/webhook";
import { createTestDb, type TestDb } from "../testing/db";
import { makeOrg, makeUser } from "../testing/fixtures";
import { orgCreditBalance } from "./postings";
import { cancelTopUp, createTopUp, payLocally } from "../payments/checkout";
import { CHECKOUT_LIFETIME_MS, expireAbandonedTopUps } from "./checkout-expiry";

const SECRET = "whsec_local_test_secret_0123456789";
const payments = createPayments({ localWebhookSecret: SECRET });
const limits = { minCents: 500, maxCents: 1_000_000 };

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.close());

async function buyer() {
  const user = await makeUser(t.db, "buyer");
  const org = await makeOrg(t.db, user);
  return { user, org };
}

async function openTopUp(orgId: string, userId: string, amountUsd = "25") {
  const { id } = await createTopUp(t.db, { payments, orgId, userId, amountUsd, limits, appUrl: "http://localhost" });
  const [row] = await t.db.select().from(topups).where(eq(topups.id, id));
  return row!;
}

function deliver(event: object, opts: { secret?: string; timestamp?: number } = {}) {
  const payload = JSON.stringify(event);
  return receiveWebhook(t.db, { payments, rawBody: payload, signature: signPayload(payments.stripe, payload, opts.secret ?? SECRET, opts.timestamp) });
}

const available = async (orgId: string) => (await orgCreditBalance(t.db, { orgId: orgId })).availableNano;
const usd = (dollars: number) => BigInt(dollars * 100) * NANO_PER_CENT;

async function transfersFor(refId: string) {
  const { rows } = await t.pool.query(
    `select t.amount_nano, t.code, t.ref_kind, d.kind as debit_kind, c.kind as credit_kind, c.org_id as credit_org
       from ledger_transfers t join ledger_accounts d on d.id = t.debit_account_id join ledger_accounts c on c.id = t.credit_account_id
      where t.ref_id = $1 order by t.created_at`,
    [refId],
  );
  return rows;
}

function chargeEvent(topupId: string, amountRefundedCents: number, id = `evt_refund_${uuidv7()}`): object {
  return {
    id,
    object: "event",
    type: "charge.refunded",
    livemode: false,
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: localIds.charge(topupId), object: "charge", payment_intent: localIds.paymentIntent(topupId), amount_refunded: amountRefundedCents } },
  };
}

function disputeEvent(topupId: string, type: "charge.dispute.created" | "charge.dispute.closed", status: string, amountCents: number, feeCents = 1500) {
  return {
    id: `evt_dispute_${uuidv7()}`,
    object: "event",
    type,
    livemode: false,
    created: Math.floor(Date.now() / 1000),
    data: {
      object: {
        id: `dp_${topupId.replace(/-/g, "")}`,
        object: "dispute",
        amount: amountCents,
        status,
        payment_intent: localIds.paymentIntent(topupId),
        balance_transactions: type === "charge.dispute.created" ? [{ amount: -amountCents, fee: feeCents }] : [],
      },
    },
  };
}

describe("webhook verification", () => {
  it("a forged signature gets 400 and writes nothing", async () => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id);
    const res = await deliver(localCheckoutEvent(topup, "checkout.session.completed", "paid"), { secret: "whsec_someone_else_entirely" });
    expect(res.status).toBe(400);
    expect(await t.db.select().from(stripeEvents)).toEqual([]);
    expect(await available(org.id)).toBe(0n);
  });

  it("a timestamp older than the 300 s tolerance gets 400", async () => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id);
    const res = await deliver(localCheckoutEvent(topup, "checkout.session.completed", "paid"), { timestamp: Math.floor(Date.now() / 1000) - 301 });
    expect(res.status).toBe(400);
    expect(await available(org.id)).toBe(0n);
  });
});

describe("crediting exactly once", () => {
  it("the same event delivered twice, concurrently, credits once", async () => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id);
    const event = localCheckoutEvent(topup, "checkout.session.completed", "paid");
    const results = await Promise.all([deliver(event), deliver(event), deliver(event)]);
    expect(results.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await available(org.id)).toBe(usd(25));
    expect(await transfersFor(localIds.session(topup.id))).toHaveLength(1);
  });

  it.each([
    ["completed (unpaid) then async_payment_succeeded", ["completed-unpaid", "async-succeeded"]],
    ["async_payment_succeeded then completed (paid)", ["async-succeeded", "completed-paid"]],
    ["completed (paid) then async_payment_succeeded", ["completed-paid", "async-succeeded"]],
  ])("%s credits once", async (_label, order) => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id, "40");
    const events: Record<string, Stripe.Event> = {
      "completed-unpaid": localCheckoutEvent(topup, "checkout.session.completed", "unpaid"),
      "completed-paid": localCheckoutEvent(topup, "checkout.session.completed", "paid"),
      "async-succeeded": localCheckoutEvent(topup, "checkout.session.async_payment_succeeded", "paid"),
    };
    const first = order[0]!;
    await deliver(events[first]!);
    if (first === "completed-unpaid") expect(await available(org.id)).toBe(0n);
    await deliver(events[order[1]!]!);
    expect(await available(org.id)).toBe(usd(40));
    expect(await transfersFor(localIds.session(topup.id))).toHaveLength(1);
  });

  it("async_payment_failed never credits", async () => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id);
    await deliver(localCheckoutEvent(topup, "checkout.session.completed", "unpaid"));
    await deliver(localCheckoutEvent(topup, "checkout.session.async_payment_failed", "unpaid"));
    expect(await available(org.id)).toBe(0n);
    const [row] = await t.db.select().from(topups).where(eq(topups.id, topup.id));
    expect(row!.status).toBe("failed");
  });

  it("a handler that crashes after posting, then is retried, posts once", async () => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id);
    const event = localCheckoutEvent(topup, "checkout.session.completed", "paid");
    const payload = JSON.stringify(event);
    const sig = signPayload(payments.stripe, payload, SECRET);
    const crashed = await receiveWebhook(t.db, {
      payments,
      rawBody: payload,
      signature: sig,
      afterHandler: () => {
        throw new Error("simulated crash after posting");
      },
    });
    expect(crashed.status).toBe(500);
    expect(await available(org.id)).toBe(0n);
    const retried = await receiveWebhook(t.db, { payments, rawBody: payload, signature: sig });
    expect(retried.status).toBe(200);
    expect(await available(org.id)).toBe(usd(25));
    const again = await receiveWebhook(t.db, { payments, rawBody: payload, signature: sig });
    expect(again.body.duplicate).toBe(true);
    expect(await transfersFor(localIds.session(topup.id))).toHaveLength(1);
  });

  it("the paid top-up is a transfer from payments_clearing to the buyer's credits, referencing the payment", async () => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id, "12.34");
    await payLocally(t.db, {
      payments,
      deliver: (payload, sig) => receiveWebhook(t.db, { payments, rawBody: payload, signature: sig }),
      orgId: org.id,
      topupId: topup.id,
      outcome: "pay",
    });
    expect(await transfersFor(localIds.session(topup.id))).toEqual([
      {
        amount_nano: 12_340_000_000n,
        code: "topup",
        ref_kind: "stripe_checkout_session",
        debit_kind: "payments_clearing",
        credit_kind: "buyer_credits",
        credit_org: org.id,
      },
    ]);
    const [row] = await t.db.select().from(topups).where(eq(topups.id, topup.id));
    expect(row!.status).toBe("paid");
    expect(row!.receiptNumber).toBeGreaterThan(0);
  });
});

describe("refunds and disputes", () => {
  async function paidTopUp(amountUsd: string) {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id, amountUsd);
    await deliver(localCheckoutEvent(topup, "checkout.session.completed", "paid"));
    return { org, topup };
  }

  it("partial then full refund, redelivered and out of order, nets to the refunded total", async () => {
    const { org, topup } = await paidTopUp("50");
    await deliver(chargeEvent(topup.id, 3000)); // $30 of the charge refunded so far
    await deliver(chargeEvent(topup.id, 1000)); // an older event arriving late: nothing new
    await deliver(chargeEvent(topup.id, 3000, "evt_refund_dup")); // same cumulative amount again
    expect(await available(org.id)).toBe(usd(20));
    await deliver(chargeEvent(topup.id, 5000));
    expect(await available(org.id)).toBe(0n);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a refund larger than the remaining balance goes negative (owed) and the next top-up repays it", async () => {
    const { org, topup } = await paidTopUp("30");
    // The buyer spends $25 of it (a stand-in for settled usage).
    const credits = await ensureAccount(t.db, { orgId: org.id, kind: "buyer_credits" });
    const revenue = await ensureAccount(t.db, { orgId: null, kind: "platform_revenue" });
    await t.db.transaction((tx) =>
      postTransfers(tx, { transfers: [{ id: uuidv7(), debitAccountId: credits.id, creditAccountId: revenue.id, amountNano: usd(25), code: "usage" }] }),
    );
    await deliver(chargeEvent(topup.id, 3000));
    const balance = await orgCreditBalance(t.db, { orgId: org.id });
    expect(balance.availableNano).toBe(-usd(25));
    expect(balance.owedNano).toBe(usd(25));

    const next = await openTopUp(org.id, topup.createdBy!, "40");
    await deliver(localCheckoutEvent(next, "checkout.session.completed", "paid"));
    const after = await orgCreditBalance(t.db, { orgId: org.id });
    expect(after.owedNano).toBe(0n);
    expect(after.availableNano).toBe(usd(15));
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a dispute opened then won: the amount leaves and returns, the fee stays booked", async () => {
    const { org, topup } = await paidTopUp("100");
    await deliver(disputeEvent(topup.id, "charge.dispute.created", "needs_response", 10_000));
    expect(await available(org.id)).toBe(0n);
    await deliver(disputeEvent(topup.id, "charge.dispute.created", "needs_response", 10_000)); // redelivery
    expect(await available(org.id)).toBe(0n);
    await deliver(disputeEvent(topup.id, "charge.dispute.closed", "won", 10_000));
    await deliver(disputeEvent(topup.id, "charge.dispute.closed", "won", 10_000));
    expect(await available(org.id)).toBe(usd(100));
    const { rows } = await t.pool.query(
      `select coalesce(sum(t.amount_nano), 0)::bigint as fees from ledger_transfers t join ledger_accounts a on a.id = t.debit_account_id
        where a.kind = 'payment_fees' and t.ref_id = $1`,
      [`dp_${topup.id.replace(/-/g, "")}`],
    );
    expect(rows[0].fees).toBe(usd(15));
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a lost dispute leaves the amount taken", async () => {
    const { org, topup } = await paidTopUp("20");
    await deliver(disputeEvent(topup.id, "charge.dispute.created", "needs_response", 2000, 0));
    await deliver(disputeEvent(topup.id, "charge.dispute.closed", "lost", 2000, 0));
    expect(await available(org.id)).toBe(0n);
    expect(await checkInvariants(t.db)).toEqual([]);
  });
});

describe("top-up input", () => {
  it.each([
    ["a decimal comma: 20,50 is $20.50, never $2,050", "20,50", 2050],
    ["thousands with a point", "1,000.50", 100_050],
    ["a plain amount", "25", 2500],
  ])("reads %s", async (_label, amountUsd, cents) => {
    const { user, org } = await buyer();
    expect((await openTopUp(org.id, user.id, amountUsd)).amountCents).toBe(cents);
  });

  it.each([
    ["below the minimum", "4.99", /between \$5\.00 and \$10000\.00/],
    ["above the maximum", "10000.01", /between/],
    ["fractions of a cent", "10.001", /whole cents/],
    ["not a number", "ten", /amountUsd/],
    ["an ambiguous comma (one dollar or a thousand?)", "1,000", /could be 1000 or 1\.000/],
    ["a comma after the decimal point", "20.5,0", /not a decimal dollar amount/],
  ])("refuses %s, naming amountUsd, and writes nothing", async (_label, amountUsd, message) => {
    const { user, org } = await buyer();
    await expect(createTopUp(t.db, { payments, orgId: org.id, userId: user.id, amountUsd, limits, appUrl: "http://x" })).rejects.toThrow(message);
    expect(await t.db.select().from(topups).where(eq(topups.orgId, org.id))).toEqual([]);
  });
});

describe("through the tRPC router", () => {
  it("an owner tops up through the local checkout; a developer may look but not pay; another org sees nothing", async () => {
    const { callerFor, addMember } = await import("../testing/fixtures");
    const { user, org } = await buyer();
    const dev = await makeUser(t.db, "dev");
    await addMember(t.db, org.id, dev, "developer");
    const owner = callerFor(t.db, user);
    const { id } = await owner.credits.createTopUp({ amountUsd: "25" });
    await expect(callerFor(t.db, dev).credits.payLocally({ topupId: id, outcome: "pay" })).rejects.toThrow(/owner or finance/);
    await owner.credits.payLocally({ topupId: id, outcome: "pay" });
    const balance = await callerFor(t.db, dev).credits.balance();
    expect(balance).toMatchObject({ availableNano: usd(25), blocked: false, paymentsMode: "local" });
    expect((await callerFor(t.db, dev).credits.topups()).map((x) => x.status)).toEqual(["paid"]);

    const outsider = await makeUser(t.db, "outsider");
    await makeOrg(t.db, outsider);
    await expect(callerFor(t.db, outsider).credits.topup({ topupId: id })).rejects.toThrow(/not found/);
    await expect(callerFor(t.db, outsider).credits.payLocally({ topupId: id, outcome: "pay" })).rejects.toThrow(/not found/);
    expect((await callerFor(t.db, outsider).credits.balance()).availableNano).toBe(0n);
  });

  it("the low-balance banner follows the threshold", async () => {
    const { callerFor } = await import("../testing/fixtures");
    const { user, org } = await buyer();
    const owner = callerFor(t.db, user);
    const topup = await openTopUp(org.id, user.id, "10");
    await deliver(localCheckoutEvent(topup, "checkout.session.completed", "paid"));
    expect((await owner.credits.balance()).low).toBe(false);
    await owner.credits.setLowBalanceThreshold({ thresholdUsd: "20" });
    expect(await owner.credits.balance()).toMatchObject({ low: true, lowThresholdNano: usd(20) });
  });
});

describe("abandoned checkouts", () => {
  const deliverNow = (payload: string, sig: string) => receiveWebhook(t.db, { payments, rawBody: payload, signature: sig });
  const statusOf = async (id: string) => (await t.db.select().from(topups).where(eq(topups.id, id)))[0]!.status;

  it("an open top-up expires after 24 hours (not before), and can then be neither paid nor cancelled", async () => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id, "10");
    const created = topup.createdAt.getTime();
    // Other tests' top-ups share the database: watch this one.
    await expireAbandonedTopUps(t.db, { now: new Date(created + CHECKOUT_LIFETIME_MS - 1000) });
    expect(await statusOf(topup.id)).toBe("open");
    expect(await expireAbandonedTopUps(t.db, { now: new Date(created + CHECKOUT_LIFETIME_MS + 1000) })).toBeGreaterThanOrEqual(1);
    expect(await statusOf(topup.id)).toBe("expired");
    await expect(payLocally(t.db, { payments, deliver: deliverNow, orgId: org.id, topupId: topup.id, outcome: "pay" })).rejects.toThrow(/already expired/);
    await expect(cancelTopUp(t.db, { payments, orgId: org.id, topupId: topup.id })).rejects.toThrow(/expired; there is nothing to cancel/);
    expect(await available(org.id)).toBe(0n);
  });

  it("an open one past 24 hours that the worker has not swept yet cannot be cancelled as if it were live", async () => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id, "10");
    const later = new Date(topup.createdAt.getTime() + CHECKOUT_LIFETIME_MS + 1);
    await expect(cancelTopUp(t.db, { payments, orgId: org.id, topupId: topup.id, now: later })).rejects.toThrow(/expired/);
  });

  it("a cancelled top-up cannot be paid; another organisation cannot cancel it; a paid one cannot be cancelled", async () => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id, "10");
    const other = await buyer();
    await expect(cancelTopUp(t.db, { payments, orgId: other.org.id, topupId: topup.id })).rejects.toThrow(/not found/);
    await cancelTopUp(t.db, { payments, orgId: org.id, topupId: topup.id });
    expect(await statusOf(topup.id)).toBe("canceled");
    await expect(payLocally(t.db, { payments, deliver: deliverNow, orgId: org.id, topupId: topup.id, outcome: "pay" })).rejects.toThrow(/already canceled/);
    const paid = await openTopUp(org.id, user.id, "10");
    await payLocally(t.db, { payments, deliver: deliverNow, orgId: org.id, topupId: paid.id, outcome: "pay" });
    await expect(cancelTopUp(t.db, { payments, orgId: org.id, topupId: paid.id })).rejects.toThrow(/paid; there is nothing to cancel/);
    expect(await available(org.id)).toBe(usd(10));
  });
});

// Issue #15: a refund or dispute delivered before its checkout was fulfilled was dropped
// (marked processed), and the buyer kept the refunded credit.
describe("payment events in any order", () => {
  const permutations = <T>(xs: T[]): T[][] =>
    xs.length <= 1 ? [xs] : xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
  const orders = permutations(["checkout", "refund", "dispute"] as const);

  it.each(orders.map((o) => [o.join(" → "), o] as const))("%s ends with the same net credit", async (_label, order) => {
    const { user, org } = await buyer();
    const topup = await openTopUp(org.id, user.id, "100");
    const events = {
      checkout: localCheckoutEvent(topup, "checkout.session.completed", "paid"),
      refund: chargeEvent(topup.id, 2000),
      dispute: disputeEvent(topup.id, "charge.dispute.created", "needs_response", 3000, 1500),
    };
    for (const name of order) expect((await deliver(events[name])).status).toBe(200);
    // $100 paid, $20 refunded, $30 disputed.
    expect(await available(org.id)).toBe(usd(50));
    const { rows } = await t.pool.query("select count(*)::int n from stripe_events where id = any($1) and processed_at is null", [
      [events.refund, events.dispute].map((e) => (e as { id: string }).id),
    ]);
    expect(rows[0].n).toBe(0);
    expect(await checkInvariants(t.db)).toEqual([]);
  });
});
