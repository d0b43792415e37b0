import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sql } from "drizzle-orm";
import { providerFeeOverrides } from "../../db/schema";
import type { SessionUser } from "../api/trpc";
import { uuidv7 } from "../lib/ids";
import { parseUsd } from "../ledger/money";
import { reverseTransfer } from "../ledger/posting";
import { ensureAccount, postTransfers } from "../ledger/service";
import { createTestDb, type TestDb } from "../testing/db";
import { addMember, callerFor, makeOrg, makeUser } from "../testing/fixtures";
import type { UsageEvent } from "../usage/contract";
import { reportUsage } from "../usage/settlement";
import { makeBuyer, makeEvent, makeListing, makeProvider, type WorldBuyer, type WorldListing } from "../usage/testing";
import { buyerMonthly } from "./buyer-statement";
import { monthOf } from "./period";
import { usageReport } from "./reconcile";

// One settlement window with two buyers and two providers, so a window's legs (which name
// one party each, never a pair) must be told apart, and one settlement from before windows
// (legacy: its events carry settlement_id, its transfers ref ('usage_settlement', id)):
//   window: A uses $2 + $3 at P1 (10% fee) and $1 at P2 (20% fee); B uses $4 + $6 at P2;
//   legacy: A used $7 at P1 (fee $0.70).
const usd = (text: string) => parseUsd(text);

let t: TestDb;
let fin: SessionUser;
let a: WorldBuyer & { name: string }, b: WorldBuyer;
let p1: { id: string; slug: string }, p2: { id: string; slug: string };
let l1: WorldListing, l2: WorldListing;
let windowEvents: UsageEvent[];
let legacy: { settlementId: string; eventId: string; transferIds: string[] };
let windowId: string;

const range = () => ({ from: new Date(Date.now() - 86_400_000), to: new Date(Date.now() + 86_400_000) });
const caller = () => callerFor(t.db, fin);
const dollars = (n: number) => n * 1000;

/** What settlement wrote before windows existed: the events with their settlement, its row, its two legs, at one time. */
async function legacySettlement(buyer: WorldBuyer, listing: WorldListing, inputTokens: number, feeNano: bigint) {
  const at = new Date();
  const settlementId = uuidv7();
  const eventId = uuidv7();
  const costNano = BigInt(inputTokens) * 1_000_000n;
  await t.db.execute(sql`
    insert into usage_events (id, started_at, first_token_at, ended_at, org_id, key_id, listing_id, provider_org_id, reservation_id,
                              input_tokens, output_tokens, cached_input_tokens, status, estimated, upstream_status, price_id, cost_nano, fee_nano,
                              fingerprint, batch_seq, settlement_id, settled_at, input_cost_nano)
    select ${eventId}::uuid, ${at}, null, ${at}, ${buyer.orgId}::uuid, ${buyer.keyIds[0]!}::uuid, ${listing.id}::uuid, ${listing.providerOrgId}::uuid, null,
           ${inputTokens}, 0, 0, 'ok', false, 200, p.id, ${costNano}, ${feeNano}, ${uuidv7()}::uuid, 0, ${settlementId}::uuid, ${at},
           least(${costNano}, tm_usage_cost(${inputTokens}, 0, 0, p.input_per1k_nano, 0, p.cached_input_per1k_nano))
    from listing_prices p where p.listing_id = ${listing.id}::uuid limit 1`);
  await t.db.execute(sql`
    insert into usage_settlements (id, batch_id, buyer_org_id, provider_org_id, events, cost_nano, fee_nano, created_at)
    values (${settlementId}::uuid, ${uuidv7()}::uuid, ${buyer.orgId}::uuid, ${listing.providerOrgId}::uuid, 1, ${costNano}, ${feeNano}, ${at})`);
  const transferIds = [uuidv7(), uuidv7()];
  await t.db.transaction(async (tx) => {
    const credits = await ensureAccount(tx, { orgId: buyer.orgId, kind: "buyer_credits" });
    const payable = await ensureAccount(tx, { orgId: listing.providerOrgId, kind: "provider_payable" });
    const revenue = await ensureAccount(tx, { orgId: null, kind: "platform_revenue" });
    const ref = { kind: "usage_settlement", id: settlementId };
    await postTransfers(tx, {
      transfers: [
        { id: transferIds[0]!, debitAccountId: credits.id, creditAccountId: payable.id, amountNano: costNano - feeNano, code: "usage", ref },
        { id: transferIds[1]!, debitAccountId: credits.id, creditAccountId: revenue.id, amountNano: feeNano, code: "usage", ref },
      ],
      now: at,
    });
  });
  return { settlementId, eventId, transferIds };
}

beforeAll(async () => {
  t = await createTestDb();
  fin = await makeUser(t.db, "fin");
  const platform = await makeOrg(t.db, await makeUser(t.db, "po"), { isPlatform: true, name: "Platform" });
  await addMember(t.db, platform.id, fin, "finance");
  p1 = await makeProvider(t.db, "p1");
  p2 = await makeProvider(t.db, "p2");
  const prices = [{ effectiveFrom: new Date(Date.now() - 86_400_000), inputPer1kNano: usd("1"), outputPer1kNano: 0n, cachedInputPer1kNano: 0n }];
  l1 = await makeListing(t.db, p1, prices);
  l2 = await makeListing(t.db, p2, prices);
  await t.db.insert(providerFeeOverrides).values([{ orgId: p2.id, feeBps: 2000 }]);
  const buyerA = await makeBuyer(t.db, { creditNano: usd("100"), name: "a" });
  a = { ...buyerA, name: ((await t.pool.query("select name from organizations where id = $1", [buyerA.orgId])).rows[0] as { name: string }).name };
  b = await makeBuyer(t.db, { creditNano: usd("100"), name: "b" });

  legacy = await legacySettlement(a, l1, dollars(7), usd("0.70"));
  windowEvents = [
    makeEvent({ keyId: a.keyIds[0]!, listingId: l1.id, inputTokens: dollars(2), outputTokens: 0 }),
    makeEvent({ keyId: b.keyIds[0]!, listingId: l2.id, inputTokens: dollars(4), outputTokens: 0 }),
    makeEvent({ keyId: a.keyIds[0]!, listingId: l1.id, inputTokens: dollars(3), outputTokens: 0 }),
    makeEvent({ keyId: a.keyIds[0]!, listingId: l2.id, inputTokens: dollars(1), outputTokens: 0 }),
    makeEvent({ keyId: b.keyIds[0]!, listingId: l2.id, inputTokens: dollars(6), outputTokens: 0 }),
  ];
  const results = await reportUsage(t.db, { events: windowEvents, service: { kind: "platform" }, defaultFeeBps: 1000, settle: "inline" });
  expect(results.map((r) => r.status)).toEqual(windowEvents.map(() => "settled"));
  const { rows } = await t.db.execute<{ id: string }>(sql`select id from usage_windows`);
  expect(rows).toHaveLength(1);
  windowId = rows[0]!.id;
});
afterAll(() => t.close());

/** The window's usage leg that moves `kind` of `orgId` (null: the platform's). */
async function windowLeg(kind: "buyer_credits" | "provider_payable" | "platform_revenue", orgId: string | null, amountNano?: bigint) {
  const legs = (await caller().finance.journal({ code: "usage", refKind: "usage_window", refId: windowId, limit: 100 })).entries;
  const found = legs.filter(
    (l) => (kind === "buyer_credits" ? l.debit : l.credit).kind === kind && (kind === "buyer_credits" ? l.debit : l.credit).orgId === orgId,
  );
  const leg = amountNano === undefined ? found[0] : found.find((l) => l.amountNano === amountNano);
  expect(leg).toBeDefined();
  return leg!;
}

async function allEvents(transferId: string, limit: number) {
  const ids: string[] = [];
  let after: string | null = null;
  let pages = 0;
  for (;;) {
    const page: Awaited<ReturnType<ReturnType<typeof caller>["finance"]["usageEvents"]>> = await caller().finance.usageEvents({ transferId, limit, after });
    ids.push(...page.events.map((e) => e.id));
    pages++;
    if (!page.nextCursor) return { ids, pages, source: page.source };
    after = page.nextCursor;
  }
}

const idsOf = (pred: (e: UsageEvent) => boolean) =>
  windowEvents
    .filter(pred)
    .map((e) => e.id)
    .sort();

describe("usage ↔ ledger per party", () => {
  it("passes over a window and a legacy settlement, with exact figures", async () => {
    const report = await usageReport(t.db, range());
    expect(report.differences).toEqual([]);
    expect(report.status).toBe("pass");
    // Window $16 (fees 0.50 + 0.20 + 2.00) and legacy $7 (fee 0.70).
    expect(report.figures).toEqual([
      { label: "Settled usage events", nano: usd("23") },
      { label: "Usage transfers paid by buyers", nano: usd("23") },
      { label: "Platform fees in the events", nano: usd("3.40") },
    ]);
  });

  it("a range that holds neither the window nor the legacy settlement counts nothing of them", async () => {
    const report = await usageReport(t.db, { from: new Date(Date.now() - 2 * 86_400_000), to: new Date(Date.now() - 86_400_000) });
    expect(report).toMatchObject({ status: "pass", differences: [] });
    expect(report.figures.map((f) => f.nano)).toEqual([0n, 0n, 0n]);
  });
});

describe("drill-down from a window's leg to its party's events", () => {
  it("a buyer's leg shows that buyer's events in the window, across providers, paged by id", async () => {
    const legA = await windowLeg("buyer_credits", a.orgId);
    expect(legA.amountNano).toBe(usd("6"));
    const shown = await allEvents(legA.id, 2);
    expect(shown.ids).toEqual(idsOf((e) => e.keyId === a.keyIds[0]));
    expect(shown.pages).toBe(2);
    expect(shown.source).toMatchObject({
      kind: "usage_window",
      id: windowId,
      buyerOrgId: a.orgId,
      providerOrgIds: [],
      events: 3,
      costNano: usd("6"),
      feeNano: usd("0.70"),
    });
    const legB = await windowLeg("buyer_credits", b.orgId);
    expect((await allEvents(legB.id, 100)).ids).toEqual(idsOf((e) => e.keyId === b.keyIds[0]));
  });

  it("a provider's payable leg and its fee leg show that provider's events, from every buyer", async () => {
    const payable = await windowLeg("provider_payable", p2.id);
    expect(payable.amountNano).toBe(usd("8.80"));
    const atP2 = idsOf((e) => e.listingId === l2.id);
    const shown = await allEvents(payable.id, 1);
    expect(shown.ids).toEqual(atP2);
    expect(shown.pages).toBe(3);
    expect(shown.source).toMatchObject({ buyerOrgId: null, providerOrgIds: [p2.id], events: 3, costNano: usd("11"), feeNano: usd("2.20") });
    // The fee legs name only the platform: each is told apart by the provider whose fees it carries.
    const fee2 = await windowLeg("platform_revenue", null, usd("2.20"));
    expect((await allEvents(fee2.id, 100)).ids).toEqual(atP2);
    const fee1 = await windowLeg("platform_revenue", null, usd("0.50"));
    const shown1 = await allEvents(fee1.id, 100);
    expect(shown1.ids).toEqual(idsOf((e) => e.listingId === l1.id));
    expect(shown1.source).toMatchObject({ providerOrgIds: [p1.id], events: 2, costNano: usd("5"), feeNano: usd("0.50") });
  });

  it("the transfer's detail names the window and lists its other legs", async () => {
    const leg = await windowLeg("provider_payable", p1.id);
    const detail = await caller().finance.transfer({ id: leg.id });
    expect(detail.source).toEqual({ kind: "usage", ref: { kind: "usage_window", id: windowId } });
    // 2 buyers' legs in, 2 providers' payable and 2 fee legs out.
    expect(detail.related).toHaveLength(6);
    expect(detail.related.every((r) => r.refKind === "usage_window" && r.refId === windowId)).toBe(true);
  });

  it("a legacy transfer shows its settlement's events, as before", async () => {
    for (const id of legacy.transferIds) {
      const shown = await allEvents(id, 10);
      expect(shown.ids).toEqual([legacy.eventId]);
      expect(shown.source).toMatchObject({
        kind: "usage_settlement",
        id: legacy.settlementId,
        buyerOrgId: a.orgId,
        providerOrgIds: [p1.id],
        events: 1,
        costNano: usd("7"),
      });
      expect((await caller().finance.transfer({ id })).source).toEqual({ kind: "usage", ref: { kind: "usage_settlement", id: legacy.settlementId } });
    }
  });

  it("a cursor that is not an event id is refused, naming it", async () => {
    const leg = await windowLeg("buyer_credits", a.orgId);
    await expect(caller().finance.usageEvents({ transferId: leg.id, limit: 10, after: "nope' or 1=1" })).rejects.toThrow(/^after: is not a valid cursor$/);
  });

  it("a transfer that is not usage has no usage events", async () => {
    const [topup] = (await caller().finance.journal({ code: "topup", limit: 1 })).entries;
    expect(await caller().finance.usageEvents({ transferId: topup!.id, limit: 10 })).toEqual({ source: null, events: [], nextCursor: null });
  });
});

describe("the buyer's statement", () => {
  it("one usage line for the day: the window's requests and the legacy settlement's, at what the buyer paid", async () => {
    const s = await buyerMonthly(t.db, { orgId: a.orgId, month: monthOf(new Date()) });
    const usage = s.lines.filter((l) => l.requests !== null);
    expect(usage.map((l) => [l.label, l.amountNano, l.requests])).toEqual([["Usage: 4 requests", -usd("13"), 4]]);
    const sb = await buyerMonthly(t.db, { orgId: b.orgId, month: monthOf(new Date()) });
    expect(sb.lines.filter((l) => l.requests !== null).map((l) => [l.label, l.amountNano])).toEqual([["Usage: 2 requests", -usd("10")]]);
  });
});

describe("what fails usage ↔ ledger, naming the party", () => {
  it("an event's cost changed behind the ledger's back: its buyer and provider", async () => {
    const [event] = windowEvents;
    await t.db.execute(sql`update usage_events set cost_nano = cost_nano + 1 where id = ${event!.id}::uuid`);
    try {
      const report = await usageReport(t.db, range());
      expect(report.status).toBe("fail");
      expect(report.differences).toEqual([
        {
          ref: `buyer:${a.orgId}`,
          detail: `buyer ${a.name}: events' cost ${usd("13") + 1n} vs legs into usage_clearing ${usd("13")}`,
          expectedNano: usd("13") + 1n,
          actualNano: usd("13"),
        },
        {
          ref: `provider:${p1.id}`,
          detail: `provider ${p1.slug}: events' cost less fees ${usd("10.80") + 1n} vs payable legs ${usd("10.80")}`,
          expectedNano: usd("10.80") + 1n,
          actualNano: usd("10.80"),
        },
      ]);
    } finally {
      await t.db.execute(sql`update usage_events set cost_nano = cost_nano - 1 where id = ${event!.id}::uuid`);
    }
    expect((await usageReport(t.db, range())).status).toBe("pass");
  });

  it("stray legs: one paid out of a window's clearing, one naming no window, one between accounts a window never moves", async () => {
    const clearing = await ensureAccount(t.db, { orgId: null, kind: "usage_clearing" });
    const payable = await ensureAccount(t.db, { orgId: p2.id, kind: "provider_payable" });
    const credits = await ensureAccount(t.db, { orgId: b.orgId, kind: "buyer_credits" });
    const [outOfClearing, noWindow, wrongAccounts] = [uuidv7(), uuidv7(), uuidv7()];
    const nowhere = uuidv7();
    await t.db.transaction((tx) =>
      postTransfers(tx, {
        transfers: [
          {
            id: outOfClearing,
            debitAccountId: clearing.id,
            creditAccountId: payable.id,
            amountNano: 5n,
            code: "usage",
            ref: { kind: "usage_window", id: windowId },
          },
          { id: noWindow, debitAccountId: credits.id, creditAccountId: clearing.id, amountNano: 7n, code: "usage", ref: { kind: "usage_window", id: nowhere } },
          {
            id: wrongAccounts,
            debitAccountId: credits.id,
            creditAccountId: payable.id,
            amountNano: 11n,
            code: "usage",
            ref: { kind: "usage_window", id: windowId },
          },
        ],
      }),
    );
    const report = await usageReport(t.db, range());
    expect(report.status).toBe("fail");
    expect(report.differences.slice(0, 2)).toEqual([
      {
        ref: `provider:${p2.id}`,
        detail: `provider ${p2.slug}: events' cost less fees ${usd("8.80")} vs payable legs ${usd("8.80") + 5n}`,
        expectedNano: usd("8.80"),
        actualNano: usd("8.80") + 5n,
      },
      { ref: `window:${windowId}`, detail: "usage_clearing nets to -5 in this window (into it less out of it), not 0", expectedNano: 0n, actualNano: -5n },
    ]);
    // Posted in one millisecond, so in no particular order.
    expect(report.differences.slice(2).sort((x, y) => (x.actualNano! < y.actualNano! ? -1 : 1))).toEqual([
      { ref: noWindow, detail: "usage transfer with no settlement window or record", expectedNano: 0n, actualNano: 7n },
      { ref: wrongAccounts, detail: `usage transfer of window ${windowId} from buyer_credits to provider_payable`, expectedNano: 0n, actualNano: 11n },
    ]);
  });

  it("a reversed leg counts against the leg it reverses: its provider, and its window's clearing", async () => {
    const leg = await windowLeg("provider_payable", p1.id);
    const reversal = reverseTransfer({ ...leg, debitAccountId: leg.debit.accountId, creditAccountId: leg.credit.accountId, expiresAt: null }, uuidv7());
    await t.db.transaction((tx) => postTransfers(tx, { transfers: [reversal] }));
    const report = await usageReport(t.db, range());
    // Before: P1's legs matched its events ($10.80 with the legacy settlement); now less the reversed $4.50.
    expect(report.differences).toContainEqual({
      ref: `provider:${p1.id}`,
      detail: `provider ${p1.slug}: events' cost less fees ${usd("10.80")} vs payable legs ${usd("6.30")}`,
      expectedNano: usd("10.80"),
      actualNano: usd("6.30"),
    });
    // The stray leg before left -5 nano; the reversal puts $4.50 back into usage_clearing.
    expect(report.differences).toContainEqual({
      ref: `window:${windowId}`,
      detail: `usage_clearing nets to ${usd("4.50") - 5n} in this window (into it less out of it), not 0`,
      expectedNano: 0n,
      actualNano: usd("4.50") - 5n,
    });
  });
});
