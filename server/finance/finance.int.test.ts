import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TRPCError } from "@trpc/server";
import type { ZodError } from "zod";
import type { SessionUser } from "../api/trpc";
import { uuidv7 } from "../lib/ids";
import { NANO_PER_CENT, parseUsd } from "../ledger/money";
import { ensureAccount, postTransfers } from "../ledger/service";
import { localIds, signPayload } from "../payments/local-checkout";
import { receiveWebhook } from "../payments/webhook";
import { createTestDb, type TestDb } from "../testing/db";
import { addMember, callerFor, codeOf, makeOrg, makeUser, TEST_SERVICE_TOKEN, testPaymentsRuntime } from "../testing/fixtures";
import type { UsageEvent } from "../usage/contract";
import { makeEvent, makeKey, makeListing, type WorldListing } from "../usage/testing";
import { providerFeeOverrides } from "../../db/schema";
import { exportCsv } from "./exports";
import { monthOf } from "./period";

// Known activity, then every report's figures asserted exactly:
//   buyer A tops up $100, buyer B $40 (local checkout, through the webhook);
//   through usage.report (settlement), A uses $30 at provider P1 (3 requests) and $10 at P2,
//   B uses $5 at P2, each with a 10% platform fee, each report settled in a window of its own
//   (buyer → usage_clearing → provider and platform); B is refunded $10; P1 is paid out $20.
const usd = (text: string) => parseUsd(text);

let t: TestDb;
let platformFinance: SessionUser, platformOwner: SessionUser;
let buyerA: SessionUser, financeA: SessionUser, buyerB: SessionUser, financeB: SessionUser;
let p1Owner: SessionUser, p1Finance: SessionUser, p2Owner: SessionUser;
let orgA: { id: string }, orgB: { id: string }, p1: { id: string; slug: string }, p2: { id: string; slug: string };
let topupA: string, topupB: string;
let payoutId: string;
let keyA: string, keyB: string, listing1: WorldListing, listing2: WorldListing;
let eventsAtP1: UsageEvent[];

async function topUp(owner: SessionUser, amountUsd: string): Promise<string> {
  const caller = callerFor(t.db, owner);
  const { id } = await caller.credits.createTopUp({ amountUsd });
  await caller.credits.payLocally({ topupId: id, outcome: "pay" });
  return id;
}

const PRICE_PER_1K = 1_000_000_000n; // $1 per 1k input tokens: 10 000 tokens cost $10

/** Reports one request per entry through usage.report, as a proxy does; settlement posts the ledger. */
async function reportUsage(keyId: string, listingId: string, inputTokens: number[]) {
  const events = inputTokens.map((n) => makeEvent({ keyId, listingId, inputTokens: n, outputTokens: 0 }));
  const { results } = await callerFor(t.db, null, TEST_SERVICE_TOKEN).usage.report({ events });
  expect(results.map((r) => r.status)).toEqual(events.map(() => "settled"));
  return events;
}

async function refund(topupId: string, cumulativeCents: number) {
  const payments = testPaymentsRuntime(t.db).payments;
  const event = {
    id: `evt_refund_${uuidv7()}`,
    object: "event",
    type: "charge.refunded",
    livemode: false,
    created: Math.floor(Date.now() / 1000),
    data: { object: { id: localIds.charge(topupId), object: "charge", payment_intent: localIds.paymentIntent(topupId), amount_refunded: cumulativeCents } },
  };
  const payload = JSON.stringify(event);
  const res = await receiveWebhook(t.db, { payments, rawBody: payload, signature: signPayload(payments.stripe, payload, payments.webhookSecret) });
  expect(res.status).toBe(200);
}

const thisMonth = () => {
  const m = monthOf(new Date());
  return { from: m.startsAt, to: m.endsAt };
};

async function readAll(res: Response): Promise<string> {
  return await res.text();
}

beforeAll(async () => {
  t = await createTestDb();
  platformOwner = await makeUser(t.db, "platformOwner");
  const platform = await makeOrg(t.db, platformOwner, { isPlatform: true, name: "Platform" });
  platformFinance = await makeUser(t.db, "platformFinance");
  await addMember(t.db, platform.id, platformFinance, "finance");

  buyerA = await makeUser(t.db, "buyerA");
  orgA = await makeOrg(t.db, buyerA, { name: "Buyer A" });
  financeA = await makeUser(t.db, "financeA");
  await addMember(t.db, orgA.id, financeA, "finance");
  buyerB = await makeUser(t.db, "buyerB");
  orgB = await makeOrg(t.db, buyerB, { name: "Buyer B" });
  financeB = await makeUser(t.db, "financeB");
  await addMember(t.db, orgB.id, financeB, "finance");
  p1Owner = await makeUser(t.db, "p1Owner");
  p1 = await makeOrg(t.db, p1Owner, { name: "Provider One" });
  p1Finance = await makeUser(t.db, "p1Finance");
  await addMember(t.db, p1.id, p1Finance, "finance");
  p2Owner = await makeUser(t.db, "p2Owner");
  p2 = await makeOrg(t.db, p2Owner, { name: "Provider Two" });

  const prices = [{ effectiveFrom: new Date(Date.now() - 86_400_000), inputPer1kNano: PRICE_PER_1K, outputPer1kNano: 0n, cachedInputPer1kNano: 0n }];
  listing1 = await makeListing(t.db, p1, prices);
  listing2 = await makeListing(t.db, p2, prices);
  await t.db.insert(providerFeeOverrides).values([
    { orgId: p1.id, feeBps: 1000 },
    { orgId: p2.id, feeBps: 1000 },
  ]);
  keyA = await makeKey(t.db, orgA.id);
  keyB = await makeKey(t.db, orgB.id);

  topupA = await topUp(buyerA, "100");
  topupB = await topUp(buyerB, "40");
  eventsAtP1 = await reportUsage(keyA, listing1.id, [10_000, 10_000, 10_000]);
  await reportUsage(keyA, listing2.id, [10_000]);
  await reportUsage(keyB, listing2.id, [5_000]);
  await refund(topupB, 1000);
  payoutId = uuidv7();
  await callerFor(t.db, platformFinance).payouts.record({ id: payoutId, orgId: p1.id, amountUsd: "20", paidOn: "2026-04-30", bankReference: "SEPA-0001" });
});
afterAll(() => t.close());

describe("platform books", () => {
  it("the trial balance by account kind, debits equal credits", async () => {
    const tb = await callerFor(t.db, platformFinance).ledger.trialBalance();
    const byKind = Object.fromEntries(tb.kinds.map((k) => [k.kind, k.balanceNano]));
    expect(byKind).toEqual({
      buyer_credits: usd("85"),
      payments_clearing: usd("130"),
      provider_payable: usd("20.50"),
      platform_revenue: usd("4.50"),
      payouts: usd("20"),
      // Every window nets it to zero: $45 in from buyers, $45 out to providers and the platform.
      usage_clearing: 0n,
    });
    expect(tb.totals).toEqual([{ currency: "USD", debitsNano: usd("260"), creditsNano: usd("260"), balanced: true }]);
  });

  it("the trial balance at a date before any activity is empty", async () => {
    const tb = await callerFor(t.db, platformFinance).ledger.trialBalance({ at: new Date("2020-01-01") });
    expect(tb.kinds).toEqual([]);
  });

  it("the journal filters by code, organisation, reference and date, and pages", async () => {
    const caller = callerFor(t.db, platformFinance);
    const topups = await caller.finance.journal({ code: "topup" });
    expect(topups.entries.map((e) => e.amountNano).sort()).toEqual([usd("100"), usd("40")].sort());
    const p2Entries = await caller.finance.journal({ orgId: p2.id });
    expect(p2Entries.entries.map((e) => e.amountNano).sort()).toEqual([usd("9"), usd("4.50")].sort());
    const byRef = await caller.finance.journal({ refKind: "payout", refId: payoutId });
    expect(byRef.entries).toHaveLength(1);
    expect(byRef.entries[0]).toMatchObject({
      code: "payout",
      amountNano: usd("20"),
      debit: { kind: "provider_payable", orgId: p1.id },
      credit: { kind: "payouts" },
    });
    expect((await caller.finance.journal({ to: new Date("2020-01-01") })).entries).toEqual([]);
    const all: string[] = [];
    let after: string | null = null;
    for (;;) {
      const page: { entries: { id: string }[]; nextCursor: string | null } = await caller.finance.journal({ limit: 3, after });
      all.push(...page.entries.map((e) => e.id));
      if (!page.nextCursor) break;
      after = page.nextCursor;
    }
    // 2 top-ups + 9 usage legs (3 windows: the buyer's, the provider's, the fee) + 1 refund + 1 payout, each once.
    expect(all).toHaveLength(13);
    expect(new Set(all).size).toBe(13);
  });

  it("drills from a top-up transfer to its stored Stripe event, and from a payout transfer to its record", async () => {
    const caller = callerFor(t.db, platformFinance);
    const [topupTransfer] = (await caller.finance.journal({ refId: localIds.session(topupA) })).entries;
    const detail = await caller.finance.transfer({ id: topupTransfer!.id });
    expect(detail.source.kind).toBe("topup");
    if (detail.source.kind !== "topup") throw new Error("unreachable");
    expect(detail.source.topup).toMatchObject({ id: topupA, amount_cents: 10_000, status: "paid" });
    expect(detail.source.events.map((e) => e.type)).toEqual(["checkout.session.completed"]);
    expect(detail.source.events[0]!.payload).toMatchObject({ data: { object: { id: localIds.session(topupA), amount_total: 10_000 } } });

    const [payoutTransfer] = (await caller.finance.journal({ code: "payout" })).entries;
    const payout = await caller.finance.transfer({ id: payoutTransfer!.id });
    expect(payout.source).toMatchObject({
      kind: "payout",
      payout: { id: payoutId, bank_reference: "SEPA-0001", paid_on: "2026-04-30", org_name: "Provider One" },
    });

    const [refundTransfer] = (await caller.finance.journal({ code: "refund" })).entries;
    const refundDetail = await caller.finance.transfer({ id: refundTransfer!.id });
    expect(refundDetail.source).toMatchObject({
      kind: "payment_adjustment",
      adjustments: [{ kind: "refund", amount_nano: usd("10") }],
      events: [{ type: "charge.refunded" }],
    });
  });

  it("drills from a usage transfer to the events it settled", async () => {
    const caller = callerFor(t.db, platformFinance);
    const [leg] = (await caller.finance.journal({ code: "usage", orgId: p1.id })).entries;
    expect(leg).toMatchObject({
      refKind: "usage_window",
      debit: { kind: "usage_clearing" },
      credit: { kind: "provider_payable", orgId: p1.id },
      amountNano: usd("27"),
    });
    const detail = await caller.finance.transfer({ id: leg!.id });
    expect(detail.source).toEqual({ kind: "usage", ref: { kind: "usage_window", id: leg!.refId } });
    const page1 = await caller.finance.usageEvents({ transferId: leg!.id, limit: 2 });
    expect(page1.source).toMatchObject({
      kind: "usage_window",
      id: leg!.refId,
      buyerOrgId: null,
      providerOrgIds: [p1.id],
      events: 3,
      costNano: usd("30"),
      feeNano: usd("3"),
    });
    const page2 = await caller.finance.usageEvents({ transferId: leg!.id, limit: 2, after: page1.nextCursor });
    expect(page2.nextCursor).toBeNull();
    const events = [...page1.events, ...page2.events];
    expect(events.map((e) => e.id).sort()).toEqual(eventsAtP1.map((e) => e.id).sort());
    expect(events.every((e) => e.costNano === usd("10") && e.feeNano === usd("1") && e.listingSlug === listing1.slug && e.keyId === keyA)).toBe(true);
    // The window's other legs: the buyer's into usage_clearing and the fee out of it, each naming the same events.
    expect(detail.related.map((r) => r.amountNano).sort()).toEqual([usd("30"), usd("27"), usd("3")].sort());
    for (const other of detail.related.filter((r) => r.id !== leg!.id)) {
      const page = await caller.finance.usageEvents({ transferId: other.id, limit: 10 });
      expect(page.events.map((e) => e.id).sort()).toEqual(eventsAtP1.map((e) => e.id).sort());
      expect(page.source).toMatchObject(
        other.debit.kind === "buyer_credits" ? { buyerOrgId: orgA.id, providerOrgIds: [] } : { buyerOrgId: null, providerOrgIds: [p1.id] },
      );
    }
  });

  it("the account list shows every account with its balance", async () => {
    const { accounts, nextCursor } = await callerFor(t.db, platformFinance).finance.accounts({ kind: "provider_payable" });
    expect(accounts.map((a) => [a.orgName, a.postedNano])).toEqual([
      ["Provider One", usd("7")],
      ["Provider Two", usd("13.50")],
    ]);
    expect(nextCursor).toBeNull();
  });

  it("the account list pages through every account once, platform first, and searches organisation names", async () => {
    const caller = callerFor(t.db, platformFinance);
    const { accounts: all } = await caller.finance.accounts({ limit: 500 });
    const seen: string[] = [];
    let after: string | null = null;
    let pages = 0;
    do {
      const page: Awaited<ReturnType<typeof caller.finance.accounts>> = await caller.finance.accounts({ limit: 3, after });
      expect(page.accounts.length).toBeLessThanOrEqual(3);
      seen.push(...page.accounts.map((a) => a.id));
      after = page.nextCursor;
      pages++;
    } while (after);
    expect(seen).toEqual(all.map((a) => a.id));
    expect(pages).toBe(Math.ceil(all.length / 3));
    expect(all[0]!.orgName).toBeNull();
    const names = all.filter((a) => a.orgName).map((a) => a.orgName!);
    expect(names).toEqual([...names].sort());

    const found = await caller.finance.accounts({ search: "provider t" });
    expect(new Set(found.accounts.map((a) => a.orgName))).toEqual(new Set(["Provider Two"]));
    // LIKE's own characters are literal: "%" matches no name here.
    expect((await caller.finance.accounts({ search: "%" })).accounts).toEqual([]);
    await expect(caller.finance.accounts({ limit: 501 })).rejects.toThrow(/at most 500/);
  });
});

describe("reconciliation", () => {
  it("every report passes on sound books, with exact figures", async () => {
    const reports = await callerFor(t.db, platformFinance).finance.reconciliation(thisMonth());
    expect(reports.map((r) => [r.key, r.status])).toEqual([
      ["integrity", "pass"],
      ["usage", "pass"],
      ["payments", "pass"],
      ["reservations", "pass"],
      ["conflicts", "pass"],
      ["payouts", "pass"],
      ["anomalies", "pass"],
    ]);
    const payments = reports.find((r) => r.key === "payments")!;
    expect(payments.figures).toEqual([
      { label: "Stored payments, net of refunds and disputes", nano: usd("130") },
      { label: "payments_clearing postings, net", nano: usd("130") },
    ]);
    expect(reports.find((r) => r.key === "usage")!.figures).toEqual([
      { label: "Settled usage events", nano: usd("45") },
      { label: "Usage transfers paid by buyers", nano: usd("45") },
      { label: "Platform fees in the events", nano: usd("4.50") },
    ]);
    expect(reports.find((r) => r.key === "integrity")!.figures).toEqual([
      { label: "Posted in the period (each transfer one debit and one credit)", nano: usd("260") },
      { label: "Posted debits, whole ledger", nano: usd("260") },
      { label: "Posted credits, whole ledger", nano: usd("260") },
    ]);
  });

  it("ledger integrity for another month counts only that month's postings and says the checks cover the whole ledger", async () => {
    const { from } = thisMonth();
    const previous = { from: new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth() - 1, 1)), to: from };
    const integrity = (await callerFor(t.db, platformFinance).finance.reconciliation(previous)).find((r) => r.key === "integrity")!;
    expect(integrity.title).toBe("Ledger integrity (whole ledger, as of now)");
    expect(integrity.figures).toEqual([
      { label: "Posted in the period (each transfer one debit and one credit)", nano: 0n },
      { label: "Posted debits, whole ledger", nano: usd("260") },
      { label: "Posted credits, whole ledger", nano: usd("260") },
    ]);
  });

  it("a stored refund without its ledger posting fails payments ↔ ledger and names the charge", async () => {
    const db = await createTestDb();
    try {
      const owner = await makeUser(db.db, "o");
      const org = await makeOrg(db.db, owner);
      const caller = callerFor(db.db, owner);
      const { id } = await caller.credits.createTopUp({ amountUsd: "30" });
      await caller.credits.payLocally({ topupId: id, outcome: "pay" });
      await db.pool.query(`insert into stripe_events (id, type, livemode, local, payload) values ('evt_x', 'charge.refunded', false, true, '{}')`);
      await db.pool.query(
        `insert into payment_adjustments (id, topup_id, kind, external_id, amount_nano, stripe_event_id) values ($1, $2, 'refund', $3, $4, 'evt_x')`,
        [uuidv7(), id, `${localIds.charge(id)}:700`, 700n * NANO_PER_CENT],
      );
      const fin = await makeUser(db.db, "fin");
      const platform = await makeOrg(db.db, await makeUser(db.db, "po"), { isPlatform: true });
      await addMember(db.db, platform.id, fin, "finance");
      const reports = await callerFor(db.db, fin).finance.reconciliation(thisMonth());
      const payments = reports.find((r) => r.key === "payments")!;
      expect(payments.status).toBe("fail");
      expect(payments.differences).toEqual([
        {
          ref: `charge:${localIds.charge(id)}`,
          detail: `stored payments -${700n * NANO_PER_CENT} vs payments_clearing 0 (missing from the ledger)`,
          expectedNano: -700n * NANO_PER_CENT,
          actualNano: 0n,
        },
      ]);
      expect(org.id).toBeTruthy();
    } finally {
      await db.close();
    }
  });

  it("a corrupted transfer (written with triggers bypassed) fails the integrity report, naming the accounts it moved", async () => {
    const db = await createTestDb();
    try {
      const owner = await makeUser(db.db, "o");
      await makeOrg(db.db, owner);
      const caller = callerFor(db.db, owner);
      const { id } = await caller.credits.createTopUp({ amountUsd: "30" });
      await caller.credits.payLocally({ topupId: id, outcome: "pay" });
      const { rows } = await db.pool.query(`select id, debit_account_id, credit_account_id from ledger_transfers where ref_id = $1`, [localIds.session(id)]);
      const corrupted = rows[0]!;
      const client = await db.pool.connect();
      try {
        // Replica mode skips the append-only trigger: this is the corruption, not a code path.
        await client.query("set session_replication_role = replica");
        await client.query("update ledger_transfers set amount_nano = amount_nano + 1 where id = $1", [corrupted.id]);
        await client.query("set session_replication_role = origin");
      } finally {
        client.release();
      }
      const fin = await makeUser(db.db, "fin");
      const platform = await makeOrg(db.db, await makeUser(db.db, "po"), { isPlatform: true });
      await addMember(db.db, platform.id, fin, "finance");
      const integrity = (await callerFor(db.db, fin).finance.reconciliation(thisMonth())).find((r) => r.key === "integrity")!;
      expect(integrity.status).toBe("fail");
      expect(integrity.differences.map((d) => d.ref).sort()).toEqual([corrupted.debit_account_id, corrupted.credit_account_id].sort());
      expect(integrity.differences[0]!.detail).toMatch(/account sums equal the sums of its transfers/);
      expect(integrity.differences.map((d) => d.detail).join("\n")).toContain("transfers give 30000000001/");
    } finally {
      await db.close();
    }
  });
});

describe("payouts", () => {
  it("payables per provider, net of payouts", async () => {
    const payables = await callerFor(t.db, platformFinance).payouts.payables();
    expect(payables.map((p) => [p.orgName, p.payableNano, p.paidNano])).toEqual([
      ["Provider One", usd("7"), usd("20")],
      ["Provider Two", usd("13.50"), 0n],
    ]);
  });

  it("a payout above the payable balance is refused naming amountUsd; a replay is idempotent; a changed replay conflicts", async () => {
    const caller = callerFor(t.db, platformFinance);
    await expect(caller.payouts.record({ id: uuidv7(), orgId: p1.id, amountUsd: "7.01", paidOn: "2026-05-01", bankReference: "SEPA-X" })).rejects.toThrow(
      /amountUsd: \$7\.01 is more than Provider One's payable balance of \$7\.00/,
    );
    const again = await caller.payouts.record({ id: payoutId, orgId: p1.id, amountUsd: "20", paidOn: "2026-04-30", bankReference: "SEPA-0001" });
    expect(again.id).toBe(payoutId);
    await expect(caller.payouts.record({ id: payoutId, orgId: p1.id, amountUsd: "21", paidOn: "2026-04-30", bankReference: "SEPA-0001" })).rejects.toThrow(
      /amountUsd/,
    );
    expect((await caller.finance.journal({ code: "payout" })).entries).toHaveLength(1);
    await expect(caller.payouts.record({ id: uuidv7(), orgId: p1.id, amountUsd: "abc", paidOn: "2026-05-01", bankReference: "SEPA-X" })).rejects.toThrow(
      /amountUsd/,
    );
  });

  it("a provider's finance member sees its own payout statement only", async () => {
    const mine = await callerFor(t.db, p1Finance).payouts.mine({});
    expect(mine.entries.map((p) => [p.id, p.amountNano, p.bankReference])).toEqual([[payoutId, usd("20"), "SEPA-0001"]]);
    expect((await callerFor(t.db, p2Owner).payouts.mine({})).entries).toEqual([]);
  });
});

describe("organisation finance: each sees only its own", () => {
  it("a buyer's statement with running balance", async () => {
    const s = await callerFor(t.db, financeA).finance.myStatement({ kind: "buyer_credits" });
    expect(s!.entries.map((e) => e.code)).toEqual(["topup", "usage", "usage"]);
    expect(s!.entries[0]!.balanceNano).toBe(usd("100"));
    // One leg per settlement window: the buyer's whole usage in it, into usage_clearing.
    expect(s!.entries.slice(1).map((e) => -e.postedDeltaNano)).toEqual([usd("30"), usd("10")]);
    expect(s!.entries.reduce((b, e) => b + e.postedDeltaNano, 0n)).toBe(usd("60"));
    expect(s!.entries.at(-1)!.balanceNano).toBe(usd("60"));
    const b = await callerFor(t.db, financeB).finance.myStatement({ kind: "buyer_credits" });
    expect(b!.entries.map((e) => e.code)).toEqual(["topup", "usage", "refund"]);
    expect(b!.entries.at(-1)!.balanceNano).toBe(usd("25"));
    const bm = (await callerFor(t.db, financeB).finance.myMonthly({ month: monthOf(new Date()).month })).buyer!;
    expect(bm.lines.map((l) => l.label)).toEqual(["Top-up", "Refund of a top-up", expect.stringMatching(/^Usage: \d+ requests?$/)]);
    expect(bm.closingNano).toBe(usd("25"));
  });

  it("the monthly statement: opening, movements by code, closing, top-ups with receipts", async () => {
    const m = monthOf(new Date()).month;
    const s = await callerFor(t.db, financeA).finance.myMonthly({ month: m });
    expect(s.accounts).toEqual([
      {
        accountId: expect.any(String),
        kind: "buyer_credits",
        openingNano: 0n,
        closingNano: usd("60"),
        byCode: [
          { code: "topup", increaseNano: usd("100"), decreaseNano: 0n, count: 1 },
          { code: "usage", increaseNano: 0n, decreaseNano: usd("40"), count: 2 },
        ],
      },
    ]);
    // The buyer's lines: one usage line for the day with the requests it carried, not a line per window.
    const today = new Date().toISOString().slice(0, 10);
    expect(s.buyer!.lines.map((l) => [l.day, l.label, l.amountNano, l.balanceNano, l.requests])).toEqual([
      [today, "Top-up", usd("100"), usd("100"), null],
      [today, "Usage: 4 requests", -usd("40"), usd("60"), 4],
    ]);
    expect(s.buyer).toMatchObject({ openingNano: 0n, closingNano: usd("60"), paidInNano: usd("100"), usedNano: usd("40"), requests: 4 });
    expect(s.buyer!.usedNano).toBe(s.usage.reduce((sum, u) => sum + u.costNano, 0n));
    expect(s.topups).toEqual([expect.objectContaining({ id: topupA, amountCents: 10_000, refundedCents: 0, receiptNumber: expect.any(Number) })]);
    expect(s.usage.map((u) => [u.keyId, u.listingSlug, u.requests, u.costNano])).toEqual([
      [keyA, listing1.slug, 3n, usd("30")],
      [keyA, listing2.slug, 1n, usd("10")],
    ]);
  });

  it("buyer and provider finance members cannot read the platform's books", async () => {
    for (const user of [financeA, p1Finance, buyerB, platformOwner]) {
      expect(await codeOf(callerFor(t.db, user).finance.journal({}))).toBe("FORBIDDEN");
      expect(await codeOf(callerFor(t.db, user).ledger.trialBalance())).toBe("FORBIDDEN");
      expect(await codeOf(callerFor(t.db, user).payouts.payables())).toBe("FORBIDDEN");
      expect(await codeOf(callerFor(t.db, user).audit.list({}))).toBe("FORBIDDEN");
    }
  });
});

describe("audit log", () => {
  it("records the payout with actor and before/after; platform finance reads all, an organisation its own", async () => {
    const all = await callerFor(t.db, platformFinance).audit.list({ action: "payout.record" });
    expect(all.entries).toHaveLength(1);
    expect(all.entries[0]).toMatchObject({
      actorUserId: platformFinance.id,
      orgId: p1.id,
      subjectId: payoutId,
      before: { payableNano: usd("27").toString() },
      after: { amountNano: usd("20").toString(), payableNano: usd("7").toString(), bankReference: "SEPA-0001" },
    });
    expect((await callerFor(t.db, p1Finance).audit.mine({})).entries.map((e) => e.action)).toContain("payout.record");
    expect((await callerFor(t.db, financeA).audit.mine({})).entries.filter((e) => e.action === "payout.record")).toEqual([]);
  });

  it("records key creation, revocation and rotation, role changes, removals and price changes, each in its organisation", async () => {
    const owner = callerFor(t.db, buyerA);
    const key = await owner.keys.create({ name: "audited" });
    const rotated = await owner.keys.rotate({ keyId: key.id, graceSeconds: 0 });
    await owner.keys.revoke({ keyId: rotated.id });
    await owner.orgs.setRole({ userId: financeA.id, role: "developer" });
    await owner.orgs.setRole({ userId: financeA.id, role: "finance" });
    const extra = await makeUser(t.db, "extra");
    await addMember(t.db, orgA.id, extra, "developer");
    await owner.orgs.removeMember({ userId: extra.id });
    const entries = (await callerFor(t.db, financeA).audit.mine({})).entries;
    expect(entries.map((e) => e.action).reverse()).toEqual(["key.create", "key.rotate", "key.revoke", "member.role", "member.role", "member.remove"]);
    expect(entries.every((e) => e.actorUserId === buyerA.id && e.orgId === orgA.id)).toBe(true);
    expect(entries.find((e) => e.action === "member.role")).toMatchObject({ before: { role: "developer" }, after: { role: "finance" } });

    const provider = callerFor(t.db, p1Owner);
    const listing = await provider.catalog.create({
      modelSlug: "audited-model",
      name: "Audited",
      family: "audited",
      contextLength: 8192,
      modalities: ["chat"],
      upstreamBaseUrl: "http://127.0.0.1:9/v1",
      upstreamModel: "m",
      prices: { unit: "1M", input: "1", output: "2", cachedInput: "0" },
    });
    await provider.catalog.changePrice({ id: listing.id, prices: { unit: "1M", input: "1.5", output: "2", cachedInput: "0" } });
    const [change] = (await callerFor(t.db, p1Finance).audit.mine({ action: "price.change" })).entries;
    expect(change).toMatchObject({ subjectId: listing.id, before: { inputPer1kNano: "1000000" }, after: { inputPer1kNano: "1500000" } });
  });
});

describe("CSV exports (streamed route handlers)", () => {
  const url = (path: string) => new URL(`http://localhost/api/finance/${path}`);

  it("the journal: header and a row per transfer, for platform finance only", async () => {
    const res = await exportCsv(t.db, { user: platformFinance, kind: "journal", url: url("journal?code=topup") });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = (await readAll(res)).trimEnd().split("\r\n");
    expect(lines[0]).toBe(
      "transfer_id,created_at,type,code,amount_usd,amount_nano,debit_account_id,debit_kind,debit_org,credit_account_id,credit_kind,credit_org,ref_kind,ref_id,pending_id",
    );
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.includes(localIds.session(topupA)))).toMatch(
      /,single,topup,100,100000000000,[0-9a-f-]+,payments_clearing,,[0-9a-f-]+,buyer_credits,Buyer A,stripe_checkout_session,/,
    );
    expect((await exportCsv(t.db, { user: financeA, kind: "journal", url: url("journal") })).status).toBe(403);
    expect((await exportCsv(t.db, { user: null, kind: "journal", url: url("journal") })).status).toBe(401);
    expect((await exportCsv(t.db, { user: platformFinance, kind: "journal", url: url("journal?code=nope") })).status).toBe(400);
  });

  it("the trial balance", async () => {
    const text = await readAll(await exportCsv(t.db, { user: platformFinance, kind: "trial-balance", url: url("trial-balance") }));
    expect(text).toContain("provider_payable,USD,2,20,40.5,20.5,");
    expect(text).toContain("usage_clearing,USD,1,45,45,0,");
    expect(text).toContain("total,USD,,260,260,balanced,");
    expect((await exportCsv(t.db, { user: p1Finance, kind: "trial-balance", url: url("trial-balance") })).status).toBe(403);
  });

  it("a statement with opening and running balance; an organisation may export only its own accounts", async () => {
    const [account] = (await callerFor(t.db, platformFinance).finance.accounts({ kind: "buyer_credits", orgId: orgA.id })).accounts;
    const own = await readAll(await exportCsv(t.db, { user: financeA, kind: "statement", url: url(`statement?accountId=${account!.id}`) }));
    const lines = own.trimEnd().split("\r\n");
    expect(lines).toHaveLength(1 + 1 + 3);
    expect(lines[1]).toBe("opening,,,,,,,,0,,,0");
    expect(lines[4]).toMatch(/,usage,usage_window,[0-9a-f-]+,debit,10,-10,60,\d+,-\d+,60000000000$/);
    expect((await exportCsv(t.db, { user: financeB, kind: "statement", url: url(`statement?accountId=${account!.id}`) })).status).toBe(404);
    expect((await exportCsv(t.db, { user: p1Finance, kind: "statement", url: url(`statement?accountId=${account!.id}`) })).status).toBe(404);
    expect((await exportCsv(t.db, { user: platformFinance, kind: "statement", url: url(`statement?accountId=${account!.id}`) })).status).toBe(200);
    const developer = await makeUser(t.db, "dev");
    await addMember(t.db, orgA.id, developer, "developer");
    expect((await exportCsv(t.db, { user: developer, kind: "statement", url: url(`statement?accountId=${account!.id}`) })).status).toBe(403);
  });

  it("streams a long journal in pages without holding it all", async () => {
    const a = await ensureAccount(t.db, { orgId: null, kind: "promotions" });
    const b = await ensureAccount(t.db, { orgId: orgB.id, kind: "buyer_credits" });
    await t.db.transaction((tx) =>
      postTransfers(tx, {
        transfers: Array.from({ length: 2500 }, () => ({
          id: uuidv7(),
          debitAccountId: a.id,
          creditAccountId: b.id,
          amountNano: 1n,
          code: "promotion" as const,
        })),
      }),
    );
    const res = await exportCsv(t.db, { user: platformFinance, kind: "journal", url: url("journal?code=promotion") });
    const reader = res.body!.getReader();
    let chunks = 0;
    let rows = 0;
    for (;;) {
      const r = await reader.read();
      if (r.done) break;
      chunks++;
      rows += new TextDecoder().decode(r.value).split("\r\n").length - 1;
    }
    // Header, then 1 000-row pages.
    expect(rows).toBe(2501);
    expect(chunks).toBe(4);
  });

  it("a reader that stops early gives the connection back", async () => {
    const res = await exportCsv(t.db, { user: platformFinance, kind: "journal", url: url("journal?code=promotion") });
    const reader = res.body!.getReader();
    await reader.read(); // header
    await reader.read(); // first page: the cursor's transaction is open
    expect(t.pool.totalCount - t.pool.idleCount).toBe(1);
    await reader.cancel();
    await expect.poll(() => t.pool.totalCount - t.pool.idleCount).toBe(0);
  });
});

describe("usage reconciliation, conflicts and reservations", () => {
  it("a usage transfer with no settlement behind it fails usage ↔ ledger, naming the transfer", async () => {
    const db = await createTestDb();
    try {
      const fin = await makeUser(db.db, "fin");
      const platform = await makeOrg(db.db, await makeUser(db.db, "po"), { isPlatform: true });
      await addMember(db.db, platform.id, fin, "finance");
      const buyer = await makeOrg(db.db, await makeUser(db.db, "b"));
      const provider = await makeOrg(db.db, await makeUser(db.db, "p"));
      const clearing = await ensureAccount(db.db, { orgId: null, kind: "payments_clearing" });
      const credits = await ensureAccount(db.db, { orgId: buyer.id, kind: "buyer_credits" });
      const payable = await ensureAccount(db.db, { orgId: provider.id, kind: "provider_payable" });
      const stray = uuidv7();
      await db.db.transaction((tx) =>
        postTransfers(tx, {
          transfers: [
            { id: uuidv7(), debitAccountId: clearing.id, creditAccountId: credits.id, amountNano: usd("5"), code: "promotion" },
            {
              id: stray,
              debitAccountId: credits.id,
              creditAccountId: payable.id,
              amountNano: usd("2"),
              code: "usage",
              ref: { kind: "usage_settlement", id: uuidv7() },
            },
          ],
        }),
      );
      const usage = (await callerFor(db.db, fin).finance.reconciliation(thisMonth())).find((r) => r.key === "usage")!;
      expect(usage.status).toBe("fail");
      expect(usage.differences).toEqual([{ ref: stray, detail: "usage transfer with no settlement window or record", expectedNano: 0n, actualNano: usd("2") }]);
    } finally {
      await db.close();
    }
  });

  it("a conflicting report is listed for review and fails the conflicts report until finance reviews it", async () => {
    const [first] = eventsAtP1;
    const { results } = await callerFor(t.db, null, TEST_SERVICE_TOKEN).usage.report({ events: [{ ...first!, inputTokens: 99 }] });
    expect(results[0]!.status).toBe("conflict");
    const caller = callerFor(t.db, platformFinance);
    const conflicts = (await caller.finance.reconciliation(thisMonth())).find((r) => r.key === "conflicts")!;
    expect(conflicts.status).toBe("fail");
    expect(conflicts.differences).toHaveLength(1);
    expect(conflicts.differences[0]!.ref).toMatch(new RegExp(`^${first!.id}:`));
    await caller.finance.reviewConflict({ conflictId: conflicts.differences[0]!.ref, note: "proxy retried with a recount; first report stands" });
    const after = (await caller.finance.reconciliation(thisMonth())).find((r) => r.key === "conflicts")!;
    expect(after.status).toBe("pass");
  });

  it("open reservations equal the held buyer credit", async () => {
    const service = callerFor(t.db, null, TEST_SERVICE_TOKEN);
    const grant = await service.reservations.reserve({ id: uuidv7(), keyId: keyA, amountNano: usd("2"), ttlSeconds: 600 });
    expect(grant.grantedNano).toBe(usd("2"));
    const report = (await callerFor(t.db, platformFinance).finance.reconciliation(thisMonth())).find((r) => r.key === "reservations")!;
    expect(report.status).toBe("pass");
    expect(report.figures).toEqual([
      { label: "Pending debits (all accounts)", nano: usd("2") },
      { label: "Open reservations", nano: usd("2") },
    ]);
    // A reservation whose recorded hold disagrees with the ledger's is named.
    const client = await t.pool.connect();
    try {
      await client.query("update reservations set held_nano = held_nano - 1 where org_id = $1", [orgA.id]);
    } finally {
      client.release();
    }
    const broken = (await callerFor(t.db, platformFinance).finance.reconciliation(thisMonth())).find((r) => r.key === "reservations")!;
    expect(broken.status).toBe("fail");
    expect(broken.differences).toEqual([
      {
        ref: `org:${orgA.id}`,
        detail: `open reservations ${usd("2") - 1n} vs held buyer credit ${usd("2")}`,
        expectedNano: usd("2") - 1n,
        actualNano: usd("2"),
      },
    ]);
  });
});

describe("bad input names the field once and writes nothing", () => {
  it.each([
    [
      "payouts.record",
      { id: "nope", orgId: "00000000-0000-7000-8000-000000000000", amountUsd: "1", paidOn: "2026-01-01", bankReference: "REF-1" },
      "id: must be a UUID",
    ],
    [
      "payouts.record",
      {
        id: "00000000-0000-7000-8000-00000000000a",
        orgId: "00000000-0000-7000-8000-000000000000",
        amountUsd: "1",
        paidOn: "yesterday",
        bankReference: "REF-1",
      },
      "paidOn: must be a date (YYYY-MM-DD)",
    ],
    [
      "payouts.record",
      { id: "00000000-0000-7000-8000-00000000000a", orgId: "00000000-0000-7000-8000-000000000000", amountUsd: "1", paidOn: "2026-01-01", bankReference: "x" },
      "bankReference: must be at least 3 characters",
    ],
    ["finance.journal", { accountId: "nope" }, "accountId: is not a valid id"],
    ["finance.closePeriod", { month: "April" }, "month: must be a month as YYYY-MM"],
    ["finance.reconciliation", { from: new Date("2026-02-01"), to: new Date("2026-01-01") }, "to: must end after it starts"],
  ])("%s → %s", async (name, input, message) => {
    const before = await t.pool.query(
      "select (select count(*) from payouts) p, (select count(*) from accounting_periods) a, (select count(*) from ledger_transfers) l",
    );
    const [ns, proc] = name.split(".") as [string, string];
    const caller = callerFor(t.db, platformFinance) as unknown as Record<string, Record<string, (i: unknown) => Promise<unknown>>>;
    const err = await caller[ns]![proc]!(input).then(
      () => null,
      (e: unknown) => e as TRPCError,
    );
    expect(err?.code).toBe("BAD_REQUEST");
    // What the API answers (server/api/trpc.ts formats zod issues as "field: message").
    const issues = (err!.cause as ZodError).issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(issues).toEqual([message]);
    const after = await t.pool.query(
      "select (select count(*) from payouts) p, (select count(*) from accounting_periods) a, (select count(*) from ledger_transfers) l",
    );
    expect(after.rows).toEqual(before.rows);
  });

  it("the CSV export names the bad parameter", async () => {
    const res = await exportCsv(t.db, { user: platformFinance, kind: "statement", url: new URL("http://localhost/api/finance/statement?accountId=nope") });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ error: "accountId: is not a valid account id" });
  });
});
