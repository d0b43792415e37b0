import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SessionUser } from "../api/trpc";
import { uuidv7 } from "../lib/ids";
import { NANO_PER_CENT } from "../ledger/money";
import { ensureAccount, postTransfers } from "../ledger/service";
import { localIds } from "../payments/local-checkout";
import { createTestDb, type TestDb } from "../testing/db";
import { addMember, callerFor, makeOrg, makeUser } from "../testing/fixtures";
import { monthOf, parseMonth } from "./period";

let t: TestDb;
let fin: SessionUser, buyer: SessionUser;
let buyerOrg: { id: string };

/** The month `n` months before the current one, as YYYY-MM. */
function monthsAgo(n: number): string {
  const now = new Date();
  return monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - n, 15))).month;
}

/**
 * A transfer dated `at`, written in SQL with its balance moves (the ledger's own API always
 * dates postings now): what a back-dating code path would have to do.
 */
async function backdated(debitAccountId: string, creditAccountId: string, amountNano: bigint, at: Date) {
  const c = await t.pool.connect();
  try {
    await c.query("begin");
    await c.query(
      `insert into ledger_transfers (id, debit_account_id, credit_account_id, amount_nano, code, created_at) values ($1, $2, $3, $4, 'promotion', $5)`,
      [uuidv7(), debitAccountId, creditAccountId, amountNano, at],
    );
    await c.query(`update ledger_accounts set debits_posted = debits_posted + $2 where id = $1`, [debitAccountId, amountNano]);
    await c.query(`update ledger_accounts set credits_posted = credits_posted + $2 where id = $1`, [creditAccountId, amountNano]);
    await c.query("commit");
  } catch (err) {
    await c.query("rollback");
    throw err;
  } finally {
    c.release();
  }
}

beforeAll(async () => {
  t = await createTestDb();
  const platform = await makeOrg(t.db, await makeUser(t.db, "po"), { isPlatform: true });
  fin = await makeUser(t.db, "fin");
  await addMember(t.db, platform.id, fin, "finance");
  buyer = await makeUser(t.db, "buyer");
  buyerOrg = await makeOrg(t.db, buyer);
  const caller = callerFor(t.db, buyer);
  const { id } = await caller.credits.createTopUp({ amountUsd: "50" });
  await caller.credits.payLocally({ topupId: id, outcome: "pay" });
});
afterAll(() => t.close());

describe("closing a month", () => {
  it("the current month cannot close: it has not ended", async () => {
    await expect(callerFor(t.db, fin).finance.closePeriod({ month: monthsAgo(0) })).rejects.toThrow(/month: \d{4}-\d{2} has not ended yet/);
  });

  it("closes a past month whose reconciliation passes; then the database refuses any transfer dated in it", async () => {
    const month = monthsAgo(1);
    const result = await callerFor(t.db, fin).finance.closePeriod({ month });
    expect(result.closed).toBe(true);
    expect(result.reports.every((r) => r.status === "pass")).toBe(true);
    expect((await callerFor(t.db, fin).finance.periods()).map((p) => p.month)).toContain(`${month}-01`);

    const credits = await ensureAccount(t.db, { orgId: buyerOrg.id, kind: "buyer_credits" });
    const promotions = await ensureAccount(t.db, { orgId: null, kind: "promotions" });
    const inClosed = new Date(parseMonth(month).startsAt.getTime() + 10 * 86_400_000);
    // Straight SQL, as any code path or a psql session could try: the trigger refuses it.
    await expect(backdated(promotions.id, credits.id, 1000n, inClosed)).rejects.toThrow(
      new RegExp(`the accounting period ${month} is closed: transfer [0-9a-f-]+ dated .* cannot be posted in it`),
    );
    // The last instant before the month, and the first after it, are open.
    const before = new Date(parseMonth(month).startsAt.getTime() - 1);
    await backdated(promotions.id, credits.id, 1n, before);
    // A posting now, through the ledger, is unaffected.
    await t.db.transaction((tx) =>
      postTransfers(tx, { transfers: [{ id: uuidv7(), debitAccountId: promotions.id, creditAccountId: credits.id, amountNano: 5n, code: "promotion" }] }),
    );
  });

  it("a month cannot close twice", async () => {
    await expect(callerFor(t.db, fin).finance.closePeriod({ month: monthsAgo(1) })).rejects.toThrow(/is already closed/);
  });

  it("a failing reconciliation blocks the close, naming the report, and writes nothing", async () => {
    const month = monthsAgo(2);
    const at = new Date(parseMonth(month).startsAt.getTime() + 86_400_000);
    // A refund stored in that month that the ledger never posted.
    const topupId = uuidv7();
    await t.pool.query(
      `insert into topups (id, org_id, amount_cents, mode, status, checkout_session_id, payment_intent_id, created_at) values ($1, $2, 1000, 'local', 'failed', $3, $4, $5)`,
      [topupId, buyerOrg.id, localIds.session(topupId), localIds.paymentIntent(topupId), at],
    );
    await t.pool.query(`insert into stripe_events (id, type, livemode, local, payload) values ('evt_late', 'charge.refunded', false, true, '{}')`);
    await t.pool.query(
      `insert into payment_adjustments (id, topup_id, kind, external_id, amount_nano, stripe_event_id, created_at) values ($1, $2, 'refund', $3, $4, 'evt_late', $5)`,
      [uuidv7(), topupId, `${localIds.charge(topupId)}:500`, 500n * NANO_PER_CENT, at],
    );
    await expect(callerFor(t.db, fin).finance.closePeriod({ month })).rejects.toThrow(
      new RegExp(`month: ${month} cannot close while reconciliation fails: Payments ↔ ledger \\(1 difference\\)`),
    );
    expect((await callerFor(t.db, fin).finance.periods()).map((p) => p.month)).not.toContain(`${month}-01`);
    // Nothing blocks postings dated in that month: it is still open.
    const credits = await ensureAccount(t.db, { orgId: buyerOrg.id, kind: "buyer_credits" });
    const promotions = await ensureAccount(t.db, { orgId: null, kind: "promotions" });
    await backdated(promotions.id, credits.id, 1n, at);
  });

  it("the close is in the audit log, and periods are never rewritten", async () => {
    const entries = (await callerFor(t.db, fin).audit.list({ action: "period.close" })).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorUserId: fin.id, subjectId: monthsAgo(1), orgId: null });
    await expect(t.pool.query(`delete from accounting_periods`)).rejects.toThrow(/append-only/);
    await expect(t.pool.query(`update audit_log set action = 'x'`)).rejects.toThrow(/append-only/);
  });

  it("a posting in flight when the close starts lands first and is reconciled; one after it is refused", async () => {
    // The close takes a SHARE lock on ledger_transfers while it reconciles: it waits for
    // writers already inside a transaction, and writers arriving later meet the trigger.
    const month = monthsAgo(3);
    const inMonth = new Date(parseMonth(month).startsAt.getTime() + 86_400_000);
    const credits = await ensureAccount(t.db, { orgId: buyerOrg.id, kind: "buyer_credits" });
    const promotions = await ensureAccount(t.db, { orgId: null, kind: "promotions" });
    const writer = await t.pool.connect();
    const inflightId = uuidv7();
    try {
      await writer.query("begin");
      await writer.query(
        `insert into ledger_transfers (id, debit_account_id, credit_account_id, amount_nano, code, created_at) values ($1, $2, $3, 7, 'promotion', $4)`,
        [inflightId, promotions.id, credits.id, inMonth],
      );
      await writer.query(`update ledger_accounts set debits_posted = debits_posted + 7 where id = $1`, [promotions.id]);
      await writer.query(`update ledger_accounts set credits_posted = credits_posted + 7 where id = $1`, [credits.id]);
      let settled = false;
      const close = callerFor(t.db, fin)
        .finance.closePeriod({ month })
        .finally(() => (settled = true));
      await new Promise((r) => setTimeout(r, 300));
      expect(settled).toBe(false);
      await writer.query("commit");
      const result = await close;
      const every = ["integrity", "usage", "payments", "reservations", "conflicts", "payouts", "anomalies"];
      expect(result.reports.map((r) => [r.key, r.status])).toEqual(every.map((k) => [k, "pass"]));
    } finally {
      writer.release();
    }
    const landed = await callerFor(t.db, fin).finance.journal({ from: parseMonth(month).startsAt, to: parseMonth(month).endsAt });
    expect(landed.entries.map((e) => e.id)).toEqual([inflightId]);
    await expect(backdated(promotions.id, credits.id, 1n, inMonth)).rejects.toThrow(/is closed/);
  });
});
