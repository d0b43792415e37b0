import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { topups } from "../../db/schema";
import { createTopUp, payLocally } from "../payments/checkout";
import { recordPayout } from "../finance/payouts";
import { uuidv7 } from "../lib/ids";
import { createPayments } from "../payments/config";
import { localIds, signPayload } from "../payments/local-checkout";
import { receiveWebhook } from "../payments/webhook";
import { createTestDb, type TestDb } from "../testing/db";
import { makeOrg, makeUser } from "../testing/fixtures";
import { reportUsage } from "../usage/settlement";
import { makeEvent, makeKey, makeListing, makeProvider, type WorldListing } from "../usage/testing";
import { checkInvariants, trialBalance } from "./service";
import { waitingEarnings } from "./funding-store";

/**
 * Pay when paid, through the real paths: usage settles through reportUsage, money arrives
 * and leaves through signed webhooks, payouts through recordPayout.
 */

const SECRET = "whsec_local_test_secret_0123456789";
const payments = createPayments({ localWebhookSecret: SECRET });
const $ = (d: number) => BigInt(Math.round(d * 100)) * 10_000_000n;
const FEE_BPS = 1000;

let t: TestDb;
let listing: WorldListing;
beforeAll(async () => {
  t = await createTestDb();
  const provider = await makeProvider(t.db);
  // $1 per 1k input tokens: an event of n×1000 input tokens costs $n, fee 10 %.
  listing = await makeListing(t.db, provider, [{ inputPer1kNano: $(1), outputPer1kNano: 0n, cachedInputPer1kNano: 0n, effectiveFrom: new Date(0) }]);
});
afterAll(() => t.close());

const deliver = (payload: string, signature: string) => receiveWebhook(t.db, { payments, rawBody: payload, signature });
const send = (event: object) => {
  const payload = JSON.stringify(event);
  return deliver(payload, signPayload(payments.stripe, payload, SECRET));
};

async function newBuyer() {
  const user = await makeUser(t.db, "buyer");
  const org = await makeOrg(t.db, user);
  return { user, orgId: org.id, keyId: await makeKey(t.db, org.id) };
}

async function topUp(b: { user: { id: string }; orgId: string }, dollars: number) {
  const { id } = await createTopUp(t.db, {
    payments,
    orgId: b.orgId,
    userId: b.user.id,
    amountUsd: String(dollars),
    limits: { minCents: 1, maxCents: 1e8 },
    appUrl: "http://x",
  });
  await payLocally(t.db, { payments, deliver, orgId: b.orgId, topupId: id, outcome: "pay" });
  return id;
}

async function use(b: { keyId: string }, dollars: number) {
  const [r] = await reportUsage(t.db, {
    events: [makeEvent({ keyId: b.keyId, listingId: listing.id, inputTokens: dollars * 1000, outputTokens: 0 })],
    service: { kind: "platform" },
    defaultFeeBps: FEE_BPS,
    settle: "inline",
  });
  expect(r!.status).toBe("settled");
}

/** The provider's funded and unfunded payables (posted balances, nano-USD). */
async function provider() {
  const { rows } = await t.db.execute<{ kind: string; bal: bigint }>(
    sql`select kind, (credits_posted - debits_posted)::int8 as bal from ledger_accounts where org_id = ${listing.providerOrgId}::uuid`,
  );
  const of = (k: string) => rows.find((r) => r.kind === k)?.bal ?? 0n;
  const lots = await t.db.execute<{ s: bigint }>(
    sql`select coalesce(sum(unfunded_nano), 0)::int8 as s from earning_lots where provider_org_id = ${listing.providerOrgId}::uuid`,
  );
  // The lots explain the unfunded payable to the cent.
  expect(lots.rows[0]!.s).toBe(of("provider_unfunded"));
  return { funded: of("provider_payable"), unfunded: of("provider_unfunded") };
}

/** Differences against a baseline, since every test shares one provider. */
async function delta(before: { funded: bigint; unfunded: bigint }) {
  const now = await provider();
  return { funded: now.funded - before.funded, unfunded: now.unfunded - before.unfunded };
}

const refundEvent = (topupId: string, cents: number) => ({
  id: `evt_refund_${uuidv7()}`,
  object: "event",
  livemode: false,
  type: "charge.refunded",
  created: Math.floor(Date.now() / 1000),
  data: { object: { id: localIds.charge(topupId), object: "charge", payment_intent: localIds.paymentIntent(topupId), amount_refunded: cents } },
});

const disputeEvent = (topupId: string, type: "charge.dispute.created" | "charge.dispute.closed", status: string, cents: number) => ({
  id: `evt_dispute_${uuidv7()}`,
  object: "event",
  livemode: false,
  type,
  created: Math.floor(Date.now() / 1000),
  data: {
    object: {
      id: `dp_${topupId.replace(/-/g, "")}`,
      object: "dispute",
      amount: cents,
      status,
      payment_intent: localIds.paymentIntent(topupId),
      balance_transactions: type === "charge.dispute.created" ? [{ amount: -cents, fee: 0 }] : [],
    },
  },
});

describe("pay when paid", () => {
  it("usage covered by credit is funded at once", async () => {
    const before = await provider();
    const b = await newBuyer();
    await topUp(b, 100);
    await use(b, 40);
    expect(await delta(before)).toEqual({ funded: $(36), unfunded: 0n });
  });

  it("usage past the credit waits, and two top-ups fund it in order", async () => {
    const before = await provider();
    const b = await newBuyer();
    await topUp(b, 20);
    await use(b, 40);
    // $20 of credit covers $20 of the $36 share; $16 of share waits on the receivable.
    expect(await delta(before)).toEqual({ funded: $(20), unfunded: $(16) });
    expect(await waitingEarnings(t.db, { providerOrgId: listing.providerOrgId })).toContainEqual(
      expect.objectContaining({ buyerOrgId: b.orgId, unfundedNano: $(16) }),
    );
    // The trial balance shows both payables, and still balances.
    const tb = await trialBalance(t.db);
    const kind = (k: string) => tb.kinds.find((r) => r.kind === k)?.balanceNano;
    expect(kind("provider_unfunded")).toBe((await provider()).unfunded);
    expect(kind("provider_payable")).toBe((await provider()).funded);
    expect(tb.totals.every((x) => x.balanced)).toBe(true);
    await topUp(b, 10);
    expect(await delta(before)).toEqual({ funded: $(30), unfunded: $(6) });
    await topUp(b, 10);
    expect(await delta(before)).toEqual({ funded: $(36), unfunded: 0n });
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a payout can take only funded earnings", async () => {
    const b = await newBuyer();
    await use(b, 30);
    const { funded, unfunded } = await provider();
    expect(unfunded >= $(27)).toBe(true);
    const over = (funded + $(1)) / 10_000_000n;
    const request = {
      id: uuidv7(),
      orgId: listing.providerOrgId,
      amountUsd: (Number(over) / 100).toFixed(2),
      paidOn: new Date().toISOString().slice(0, 10),
      bankReference: "BANK-1",
    };
    await expect(recordPayout(t.db, { ...request, actorUserId: null })).rejects.toThrow(/amountUsd: .* payable balance/);
  });

  it("a refund after a payout unfunds only what was not paid", async () => {
    const b = await newBuyer();
    const id = await topUp(b, 50);
    await use(b, 50);
    const mid = await provider();
    // Pay out everything funded but $5.
    const pay = mid.funded - $(5);
    await recordPayout(t.db, {
      id: uuidv7(),
      orgId: listing.providerOrgId,
      amountUsd: (Number(pay / 10_000_000n) / 100).toFixed(2),
      paidOn: new Date().toISOString().slice(0, 10),
      bankReference: "BANK-2",
      actorUserId: null,
    });
    expect((await send(refundEvent(id, 5000))).status).toBe(200);
    const after = await provider();
    expect(after.funded).toBe(0n);
    expect(after.unfunded - mid.unfunded).toBe($(5));
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a dispute lost unfunds the spent part; won, it funds it again", async () => {
    const b = await newBuyer();
    const id = await topUp(b, 30);
    await use(b, 20);
    const before = await provider();
    // $10 of credit remains: the $25 dispute takes it and $15 past it, unfunding $15 of the $18 share.
    expect((await send(disputeEvent(id, "charge.dispute.created", "needs_response", 2500))).status).toBe(200);
    expect(await delta(before)).toEqual({ funded: -$(15), unfunded: $(15) });
    expect((await send(disputeEvent(id, "charge.dispute.closed", "won", 2500))).status).toBe(200);
    expect(await delta(before)).toEqual({ funded: 0n, unfunded: 0n });
    expect(await checkInvariants(t.db)).toEqual([]);
    const [row] = await t.db.select().from(topups).where(eq(topups.id, id));
    expect(row!.status).toBe("paid");
  });
});
