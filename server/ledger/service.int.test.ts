import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../errors";
import { uuidv7 } from "../lib/ids";
import { createTestDb, type TestDb } from "../testing/db";
import { makeOrg, makeUser } from "../testing/fixtures";
import { parseUsd } from "./money";
import { reverseTransfer } from "./posting";
import {
  checkInvariants,
  createPending,
  ensureAccount,
  expirePending,
  getBalance,
  postPending,
  postTransfers,
  postTransfersBatch,
  statement,
  trialBalance,
  voidPending,
  type LedgerAccount,
} from "./service";
import { ledgerFixture, topUp } from "./testing";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb(40);
});
afterAll(() => t.close());

const HOUR = 3_600_000;
const inAnHour = () => new Date(Date.now() + HOUR);

async function errorOf(p: Promise<unknown>): Promise<DomainError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

async function count(sqlText: string, params: unknown[] = []): Promise<number> {
  const { rows } = await t.pool.query<{ n: number }>(`select (${sqlText})::int as n`, params);
  return rows[0]!.n;
}

async function newBuyer(fundedNano = 0n) {
  const f = await ledgerFixture(t.db);
  if (fundedNano) await topUp(t.db, f.buyer, f.clearing, fundedNano);
  return f;
}

describe("accounts", () => {
  it("ensureAccount creates once per (owner, kind, currency), with the kind's limit flags", async () => {
    const owner = await makeUser(t.db);
    const org = await makeOrg(t.db, owner);
    const [a, b] = await Promise.all([
      t.db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" })),
      t.db.transaction((tx) => ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" })),
    ]);
    expect(a.id).toBe(b.id);
    expect(a.debitsMustNotExceedCredits).toBe(true);
    const p1 = await ensureAccount(t.db, { orgId: null, kind: "platform_revenue" });
    const p2 = await ensureAccount(t.db, { orgId: null, kind: "platform_revenue" });
    expect(p1.id).toBe(p2.id);
    expect(p1.debitsMustNotExceedCredits).toBe(false);
  });

  it("organisation kinds need an organisation and platform kinds refuse one", async () => {
    expect((await errorOf(ensureAccount(t.db, { orgId: null, kind: "buyer_credits" }))).field).toBe("orgId");
    const owner = await makeUser(t.db);
    const org = await makeOrg(t.db, owner);
    expect((await errorOf(ensureAccount(t.db, { orgId: org.id, kind: "payouts" }))).field).toBe("orgId");
  });
});

describe("postings", () => {
  it("a multi-leg posting is all or nothing", async () => {
    const f = await newBuyer(parseUsd("1"));
    const before = await count("select count(*) from ledger_transfers");
    const err = await errorOf(
      t.db.transaction((tx) =>
        postTransfers(tx, {
          transfers: [
            { id: uuidv7(), debitAccountId: f.clearing.id, creditAccountId: f.buyer.id, amountNano: parseUsd("0.50"), code: "topup" },
            { id: uuidv7(), debitAccountId: f.buyer.id, creditAccountId: f.revenue.id, amountNano: parseUsd("2"), code: "usage" },
          ],
        }),
      ),
    );
    expect(err.code).toBe("INSUFFICIENT_CREDIT");
    expect(err.field).toBe("transfers[1].debitAccountId");
    expect(err.message).toContain(f.buyer.id);
    expect(await count("select count(*) from ledger_transfers")).toBe(before);
    expect((await getBalance(t.db, { accountId: f.buyer.id })).postedNano).toBe(parseUsd("1"));
  });

  it("legs that together stay within the limit are accepted (aggregated per account)", async () => {
    const f = await newBuyer();
    await t.db.transaction((tx) =>
      postTransfers(tx, {
        transfers: [
          { id: uuidv7(), debitAccountId: f.clearing.id, creditAccountId: f.buyer.id, amountNano: 100n, code: "topup" },
          { id: uuidv7(), debitAccountId: f.buyer.id, creditAccountId: f.revenue.id, amountNano: 100n, code: "usage" },
        ],
      }),
    );
    expect((await getBalance(t.db, { accountId: f.buyer.id })).postedNano).toBe(0n);
  });

  it("a replay with the same id and fields returns the original and changes nothing", async () => {
    const f = await newBuyer();
    const req = {
      id: uuidv7(),
      debitAccountId: f.clearing.id,
      creditAccountId: f.buyer.id,
      amountNano: 500n,
      code: "topup" as const,
      ref: { kind: "stripe_event", id: "evt_1" },
    };
    const [first] = await t.db.transaction((tx) => postTransfers(tx, { transfers: [req] }));
    const [again] = await t.db.transaction((tx) => postTransfers(tx, { transfers: [req] }));
    expect(again).toEqual(first);
    expect((await getBalance(t.db, { accountId: f.buyer.id })).postedNano).toBe(500n);
    // Concurrent replays: still one transfer.
    const id = uuidv7();
    await Promise.all(Array.from({ length: 8 }, () => t.db.transaction((tx) => postTransfers(tx, { transfers: [{ ...req, id }] }))));
    expect((await getBalance(t.db, { accountId: f.buyer.id })).postedNano).toBe(1000n);
  });

  it.each([
    ["amountNano", { amountNano: 501n }],
    ["code", { code: "promotion" as const }],
    ["ref", { ref: { kind: "stripe_event", id: "evt_other" } }],
    ["creditAccountId", "swap"],
  ])("the same id with a different %s is a CONFLICT naming it, and aborts the transaction", async (field, change) => {
    const f = await newBuyer();
    const req = {
      id: uuidv7(),
      debitAccountId: f.clearing.id,
      creditAccountId: f.buyer.id,
      amountNano: 500n,
      code: "topup" as const,
      ref: { kind: "stripe_event", id: "evt_1" },
    };
    await t.db.transaction((tx) => postTransfers(tx, { transfers: [req] }));
    const changed = change === "swap" ? { ...req, creditAccountId: f.revenue.id } : { ...req, ...(change as object) };
    const other = { id: uuidv7(), debitAccountId: f.clearing.id, creditAccountId: f.buyer.id, amountNano: 7n, code: "topup" as const };
    let caught: unknown;
    // The caller catches the error and tries to commit: the new leg must still not land.
    await t.db.transaction(async (tx) => {
      caught = await postTransfers(tx, { transfers: [other, changed] }).catch((e: unknown) => e);
    });
    expect(caught).toBeInstanceOf(DomainError);
    expect((caught as DomainError).code).toBe("CONFLICT");
    expect((caught as DomainError).field).toBe(`transfers[1].${field}`);
    expect(await count("select count(*) from ledger_transfers where id = $1", [other.id])).toBe(0);
    expect((await getBalance(t.db, { accountId: f.buyer.id })).postedNano).toBe(500n);
  });

  it("an unknown account is NOT_FOUND and writes nothing", async () => {
    const f = await newBuyer();
    const id = uuidv7();
    const err = await errorOf(
      t.db.transaction((tx) =>
        postTransfers(tx, { transfers: [{ id, debitAccountId: f.clearing.id, creditAccountId: uuidv7(), amountNano: 1n, code: "topup" }] }),
      ),
    );
    expect(err.code).toBe("NOT_FOUND");
    expect(err.field).toBe("transfers[0].creditAccountId");
    expect(await count("select count(*) from ledger_transfers where id = $1", [id])).toBe(0);
  });

  it.each([
    ["zero amount", { amountNano: 0n }, "transfers[0].amountNano"],
    ["negative amount", { amountNano: -5n }, "transfers[0].amountNano"],
    ["same account twice", "same", "transfers[0].creditAccountId"],
    ["bad id", { id: "nope" }, "transfers[0].id"],
    ["expiry in the past", { pending: { expiresAt: new Date(Date.now() - 1000) } }, "transfers[0].pending.expiresAt"],
  ])("bad input (%s) names the field", async (_label, change, field) => {
    const f = await newBuyer();
    const base = { id: uuidv7(), debitAccountId: f.clearing.id, creditAccountId: f.buyer.id, amountNano: 1n, code: "topup" as const };
    const req = change === "same" ? { ...base, creditAccountId: f.clearing.id } : { ...base, ...(change as object) };
    const err = await errorOf(t.db.transaction((tx) => postTransfers(tx, { transfers: [req] })));
    expect(err.code).toBe("INVALID_INPUT");
    expect(err.field).toBe(field);
  });

  it("a credit limit lets a buyer account go that far below zero and no further", async () => {
    const f = await newBuyer();
    await t.db.transaction(async (tx) => {
      const { setCreditLimit } = await import("./service");
      await setCreditLimit(tx, { accountId: f.buyer.id, creditLimitNano: 300n });
    });
    const spend = (amountNano: bigint) =>
      t.db.transaction((tx) =>
        postTransfers(tx, { transfers: [{ id: uuidv7(), debitAccountId: f.buyer.id, creditAccountId: f.revenue.id, amountNano, code: "usage" }] }),
      );
    await spend(200n);
    expect((await errorOf(spend(101n))).code).toBe("INSUFFICIENT_CREDIT");
    await spend(100n);
    const b = await getBalance(t.db, { accountId: f.buyer.id });
    expect([b.postedNano, b.availableNano]).toEqual([-300n, 0n]);
  });

  it("a reversal restores both balances", async () => {
    const f = await newBuyer(parseUsd("5"));
    const [spent] = await t.db.transaction((tx) =>
      postTransfers(tx, { transfers: [{ id: uuidv7(), debitAccountId: f.buyer.id, creditAccountId: f.revenue.id, amountNano: parseUsd("2"), code: "usage" }] }),
    );
    const revenueBefore = (await getBalance(t.db, { accountId: f.revenue.id })).postedNano;
    await t.db.transaction((tx) => postTransfers(tx, { transfers: [reverseTransfer(spent!, uuidv7())] }));
    expect((await getBalance(t.db, { accountId: f.buyer.id })).postedNano).toBe(parseUsd("5"));
    expect((await getBalance(t.db, { accountId: f.revenue.id })).postedNano).toBe(revenueBefore - parseUsd("2"));
  });

  it("opposite transfers between the same accounts, concurrently, never deadlock", async () => {
    const owner = await makeUser(t.db);
    const orgA = await makeOrg(t.db, owner);
    const orgB = await makeOrg(t.db, owner);
    const clearing = await ensureAccount(t.db, { orgId: null, kind: "payments_clearing" });
    const [a, b] = [await ensureAccount(t.db, { orgId: orgA.id, kind: "buyer_credits" }), await ensureAccount(t.db, { orgId: orgB.id, kind: "buyer_credits" })];
    await topUp(t.db, a, clearing, 1000n);
    await topUp(t.db, b, clearing, 1000n);
    // Each transaction moves money both ways in legs ordered to provoke a deadlock if locks followed leg order.
    const move = (x: LedgerAccount, y: LedgerAccount) =>
      t.db.transaction((tx) =>
        postTransfers(tx, {
          transfers: [
            { id: uuidv7(), debitAccountId: x.id, creditAccountId: clearing.id, amountNano: 1n, code: "usage" },
            { id: uuidv7(), debitAccountId: x.id, creditAccountId: y.id, amountNano: 1n, code: "adjustment" },
            { id: uuidv7(), debitAccountId: clearing.id, creditAccountId: x.id, amountNano: 1n, code: "topup" },
          ],
        }),
      );
    await Promise.all(Array.from({ length: 100 }, (_, i) => (i % 2 ? move(a, b) : move(b, a))));
    expect((await getBalance(t.db, { accountId: a.id })).postedNano + (await getBalance(t.db, { accountId: b.id })).postedNano).toBe(2000n);
  });
});

describe("limits under concurrency", () => {
  it("400 concurrent pending transfers of $0.07 against $1.00: exactly 14 are accepted", async () => {
    const f = await newBuyer(parseUsd("1.00"));
    const results = await Promise.allSettled(
      Array.from({ length: 400 }, () =>
        t.db.transaction((tx) =>
          createPending(tx, {
            id: uuidv7(),
            debitAccountId: f.buyer.id,
            creditAccountId: f.holds.id,
            amountNano: parseUsd("0.07"),
            code: "reservation",
            expiresAt: inAnHour(),
          }),
        ),
      ),
    );
    const accepted = results.filter((r) => r.status === "fulfilled").length;
    const refused = results.filter((r) => r.status === "rejected").map((r) => ((r as PromiseRejectedResult).reason as DomainError).code);
    expect(accepted).toBe(14);
    expect(new Set(refused)).toEqual(new Set(["INSUFFICIENT_CREDIT"]));
    const b = await getBalance(t.db, { accountId: f.buyer.id });
    expect(b.debitsPending).toBe(parseUsd("0.98"));
    expect(b.availableNano).toBe(parseUsd("0.02"));
    expect(await count("select count(*) from ledger_pending where debit_account_id = $1", [f.buyer.id])).toBe(14);
  });

  it("the CHECK constraint refuses an overdraft written directly in SQL", async () => {
    const f = await newBuyer(100n);
    await expect(t.pool.query("update ledger_accounts set debits_posted = debits_posted + 101 where id = $1", [f.buyer.id])).rejects.toThrow(
      /ledger_accounts_debit_limit/,
    );
  });
});

describe("pending transfers", () => {
  async function hold(amountNano = 100n, expiresAt = inAnHour()) {
    const f = await newBuyer(1000n);
    const p = await t.db.transaction((tx) =>
      createPending(tx, {
        id: uuidv7(),
        debitAccountId: f.buyer.id,
        creditAccountId: f.holds.id,
        amountNano,
        code: "reservation",
        expiresAt,
        ref: { kind: "reservation", id: "r1" },
      }),
    );
    return { ...f, p };
  }
  const resolutions = (pendingId: string) => count("select count(*) from ledger_transfers where pending_id = $1", [pendingId]);

  it("a hold reduces available, not posted; a partial post posts part and releases the rest", async () => {
    const { buyer, p } = await hold(100n);
    let b = await getBalance(t.db, { accountId: buyer.id });
    expect([b.postedNano, b.pendingNano, b.availableNano]).toEqual([1000n, -100n, 900n]);
    const posted = await t.db.transaction((tx) => postPending(tx, { id: uuidv7(), pendingId: p.id, amountNano: 30n }));
    expect([posted.type, posted.amountNano, posted.code, posted.refKind]).toEqual(["post_pending", 30n, "reservation", "reservation"]);
    b = await getBalance(t.db, { accountId: buyer.id });
    expect([b.postedNano, b.pendingNano, b.availableNano]).toEqual([970n, 0n, 970n]);
  });

  it("post then void: the void is refused", async () => {
    const { buyer, p } = await hold();
    await t.db.transaction((tx) => postPending(tx, { id: uuidv7(), pendingId: p.id }));
    const err = await errorOf(t.db.transaction((tx) => voidPending(tx, { id: uuidv7(), pendingId: p.id })));
    expect(err.code).toBe("CONFLICT");
    expect(err.message).toContain("already posted");
    expect(await resolutions(p.id)).toBe(1);
    expect((await getBalance(t.db, { accountId: buyer.id })).postedNano).toBe(900n);
  });

  it("void then post: the post is refused", async () => {
    const { buyer, p } = await hold();
    await t.db.transaction((tx) => voidPending(tx, { id: uuidv7(), pendingId: p.id }));
    const err = await errorOf(t.db.transaction((tx) => postPending(tx, { id: uuidv7(), pendingId: p.id })));
    expect(err.message).toContain("already voided");
    expect(await resolutions(p.id)).toBe(1);
    const b = await getBalance(t.db, { accountId: buyer.id });
    expect([b.postedNano, b.availableNano]).toEqual([1000n, 1000n]);
  });

  it("double post: a replay returns the first, a second post is refused", async () => {
    const { p } = await hold();
    const id = uuidv7();
    const first = await t.db.transaction((tx) => postPending(tx, { id, pendingId: p.id, amountNano: 40n }));
    const replay = await t.db.transaction((tx) => postPending(tx, { id, pendingId: p.id, amountNano: 40n }));
    expect(replay).toEqual(first);
    expect((await errorOf(t.db.transaction((tx) => postPending(tx, { id, pendingId: p.id, amountNano: 41n })))).field).toBe("amountNano");
    expect((await errorOf(t.db.transaction((tx) => postPending(tx, { id: uuidv7(), pendingId: p.id })))).code).toBe("CONFLICT");
    expect(await resolutions(p.id)).toBe(1);
  });

  it("concurrent post, post and void of one hold: exactly one applies", async () => {
    for (let round = 0; round < 10; round++) {
      const { buyer, p } = await hold(100n);
      const results = await Promise.allSettled([
        t.db.transaction((tx) => postPending(tx, { id: uuidv7(), pendingId: p.id, amountNano: 60n })),
        t.db.transaction((tx) => postPending(tx, { id: uuidv7(), pendingId: p.id })),
        t.db.transaction((tx) => voidPending(tx, { id: uuidv7(), pendingId: p.id })),
      ]);
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      expect(await resolutions(p.id)).toBe(1);
      const b = await getBalance(t.db, { accountId: buyer.id });
      expect(b.debitsPending).toBe(0n);
      expect([1000n, 940n, 900n]).toContain(b.postedNano);
    }
  });

  it("post racing the sweeper: exactly one resolution applies", async () => {
    const expiresAt = new Date(Date.now() + 2000);
    const holds = await Promise.all(Array.from({ length: 30 }, () => hold(100n, expiresAt)));
    const afterExpiry = new Date(expiresAt.getTime() + 1);
    const beforeExpiry = new Date(expiresAt.getTime() - 1);
    const posts = holds.map((h) =>
      t.db
        .transaction((tx) => postPending(tx, { id: uuidv7(), pendingId: h.p.id, now: beforeExpiry }))
        .then(
          () => "posted",
          (e: DomainError) => e.code,
        ),
    );
    const sweeps = [expirePending(t.db, { now: afterExpiry, batchSize: 7 }), expirePending(t.db, { now: afterExpiry, batchSize: 7 })];
    const outcomes = await Promise.all(posts);
    const expired = (await Promise.all(sweeps)).reduce((a, b) => a + b, 0);
    for (const h of holds) expect(await resolutions(h.p.id)).toBe(1);
    const postedCount = outcomes.filter((o) => o === "posted").length;
    expect(outcomes.filter((o) => o !== "posted").every((o) => o === "CONFLICT")).toBe(true);
    expect(postedCount + expired).toBe(30);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("post or void after expiry is refused; concurrent sweepers expire each hold exactly once", async () => {
    const expiresAt = new Date(Date.now() + 1000);
    const holds = await Promise.all(Array.from({ length: 25 }, () => hold(100n, expiresAt)));
    const later = new Date(expiresAt.getTime() + 1000);
    const err = await errorOf(t.db.transaction((tx) => postPending(tx, { id: uuidv7(), pendingId: holds[0]!.p.id, now: later })));
    expect(err.message).toContain("expired");
    const counts = await Promise.all([
      expirePending(t.db, { now: later, batchSize: 4 }),
      expirePending(t.db, { now: later, batchSize: 4 }),
      expirePending(t.db, { now: later, batchSize: 4 }),
    ]);
    expect(counts.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(25);
    for (const h of holds) {
      expect(await count("select count(*) from ledger_transfers where pending_id = $1 and type = 'expire_pending'", [h.p.id])).toBe(1);
      expect((await getBalance(t.db, { accountId: h.buyer.id })).availableNano).toBe(1000n);
    }
    expect(await expirePending(t.db, { now: later })).toBe(0);
  });
});

describe("append-only transfers", () => {
  it.each([
    ["UPDATE", "update ledger_transfers set amount_nano = amount_nano + 1"],
    ["UPDATE of no row", "update ledger_transfers set amount_nano = 1 where false"],
    ["DELETE", "delete from ledger_transfers"],
    ["TRUNCATE", "truncate ledger_transfers cascade"],
  ])("%s fails in the database", async (_label, statementText) => {
    await newBuyer(10n);
    const before = await count("select count(*) from ledger_transfers");
    await expect(t.pool.query(statementText)).rejects.toThrow(/append-only/);
    expect(await count("select count(*) from ledger_transfers")).toBe(before);
  });

  it("accounts cannot be deleted", async () => {
    await expect(t.pool.query("delete from ledger_accounts")).rejects.toThrow(/never deleted/);
  });
});

describe("reads", () => {
  it("a statement pages oldest first with running balances", async () => {
    const f = await newBuyer();
    for (const usd of ["1", "2", "3"]) await topUp(t.db, f.buyer, f.clearing, parseUsd(usd));
    await t.db.transaction((tx) =>
      postTransfers(tx, {
        transfers: [{ id: uuidv7(), debitAccountId: f.buyer.id, creditAccountId: f.revenue.id, amountNano: parseUsd("0.5"), code: "usage" }],
      }),
    );
    const hold = await t.db.transaction((tx) =>
      createPending(tx, {
        id: uuidv7(),
        debitAccountId: f.buyer.id,
        creditAccountId: f.holds.id,
        amountNano: parseUsd("1"),
        code: "reservation",
        expiresAt: inAnHour(),
      }),
    );
    await t.db.transaction((tx) => voidPending(tx, { id: uuidv7(), pendingId: hold.id }));
    const page1 = await statement(t.db, { accountId: f.buyer.id, limit: 4 });
    expect(page1.entries.map((e) => e.balanceNano)).toEqual([parseUsd("1"), parseUsd("3"), parseUsd("6"), parseUsd("5.5")]);
    expect(page1.entries.map((e) => e.side)).toEqual(["credit", "credit", "credit", "debit"]);
    expect(page1.nextCursor).toBe(page1.entries[3]!.transferId);
    const page2 = await statement(t.db, { accountId: f.buyer.id, limit: 4, after: page1.nextCursor });
    expect(page2.entries.map((e) => [e.type, e.balanceNano, e.pendingNano])).toEqual([
      ["pending", parseUsd("5.5"), -parseUsd("1")],
      ["void_pending", parseUsd("5.5"), 0n],
    ]);
    expect(page2.nextCursor).toBeNull();
  });

  it("the trial balance by kind balances, and shows the books as they were at an earlier time", async () => {
    const f = await newBuyer(parseUsd("10"));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await topUp(t.db, f.buyer, f.clearing, parseUsd("5"));
    const now = await trialBalance(t.db);
    const then = await trialBalance(t.db, { at: between });
    for (const tb of [now, then]) expect(tb.totals.every((x) => x.balanced)).toBe(true);
    const clearing = (tb: typeof now) => tb.kinds.find((k) => k.kind === "payments_clearing")!.debitsNano;
    expect(clearing(now) - clearing(then)).toBe(parseUsd("5"));
  });

  it("the invariant check names every violation it finds", async () => {
    // Its own database: this test corrupts the books on purpose.
    const own = await createTestDb(2);
    try {
      const f = await ledgerFixture(own.db);
      await topUp(own.db, f.buyer, f.clearing, parseUsd("1"));
      await own.db.transaction((tx) =>
        createPending(tx, {
          id: uuidv7(),
          debitAccountId: f.buyer.id,
          creditAccountId: f.holds.id,
          amountNano: 5n,
          code: "reservation",
          expiresAt: inAnHour(),
        }),
      );
      expect(await checkInvariants(own.db)).toEqual([]);
      await own.pool.query("update ledger_accounts set credits_posted = credits_posted + 1 where id = $1", [f.buyer.id]);
      await own.pool.query("update ledger_pending set status = 'voided', resolved_by = pending_id");
      const found = await checkInvariants(own.db);
      const invariants = new Set(found.map((v) => v.invariant));
      expect(invariants).toContain("total debits equal total credits");
      expect(invariants).toContain("account sums equal the sums of its transfers");
      expect(invariants).toContain("pending sums equal the open pending transfers");
      expect(invariants).toContain("a hold is open exactly when no transfer resolved it");
      expect(found.find((v) => v.invariant === "account sums equal the sums of its transfers")?.ref).toBe(f.buyer.id);
    } finally {
      await own.close();
    }
  });
});

describe("batched postings", () => {
  it("posts thousands of transfers in one statement, replays as a no-op, and refuses a batch that overdraws", async () => {
    const owner = await makeUser(t.db);
    const clearing = await ensureAccount(t.db, { orgId: null, kind: "payments_clearing" });
    const revenue = await ensureAccount(t.db, { orgId: null, kind: "platform_revenue" });
    const buyers = await Promise.all(
      Array.from({ length: 20 }, async () => ensureAccount(t.db, { orgId: (await makeOrg(t.db, owner)).id, kind: "buyer_credits" })),
    );
    for (const b of buyers) await topUp(t.db, b, clearing, 1000n);
    const rows = Array.from({ length: 2000 }, (_, i) => ({
      id: uuidv7(),
      debitAccountId: buyers[i % 20]!.id,
      creditAccountId: revenue.id,
      amountNano: 5n,
      code: "usage" as const,
    }));
    expect(await t.db.transaction((tx) => postTransfersBatch(tx, { transfers: rows }))).toEqual({ inserted: 2000, replayed: 0 });
    expect(await t.db.transaction((tx) => postTransfersBatch(tx, { transfers: rows }))).toEqual({ inserted: 0, replayed: 2000 });
    for (const b of buyers) expect((await getBalance(t.db, { accountId: b.id })).postedNano).toBe(500n);
    const over = rows.map((r) => ({ ...r, id: uuidv7(), amountNano: r.debitAccountId === buyers[3]!.id ? 6n : 1n }));
    const err = await errorOf(t.db.transaction((tx) => postTransfersBatch(tx, { transfers: over })));
    expect(err.code).toBe("INSUFFICIENT_CREDIT");
    expect(err.message).toContain(buyers[3]!.id);
    expect(await count("select count(*) from ledger_transfers where id = $1", [over[0]!.id])).toBe(0);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a batch mixing new and used ids posts only the new ones; a used id with other fields is refused by name", async () => {
    const f = await newBuyer(10_000n);
    const leg = (amountNano: bigint) => ({ id: uuidv7(), debitAccountId: f.buyer.id, creditAccountId: f.revenue.id, amountNano, code: "usage" as const });
    const first = [leg(100n), leg(200n)];
    await t.db.transaction((tx) => postTransfersBatch(tx, { transfers: first }));
    const hold = { ...leg(50n), creditAccountId: f.holds.id, code: "reservation" as const, pending: { expiresAt: inAnHour() } };
    const mixed = [...first, leg(300n), hold];
    expect(await t.db.transaction((tx) => postTransfersBatch(tx, { transfers: mixed }))).toEqual({ inserted: 2, replayed: 2 });
    const b = await getBalance(t.db, { accountId: f.buyer.id });
    expect(b.postedNano).toBe(10_000n - 600n);
    expect(b.availableNano).toBe(10_000n - 650n);
    // The hold is a replay now too, even though it would no longer fit were it new.
    expect(await t.db.transaction((tx) => postTransfersBatch(tx, { transfers: [hold] }))).toEqual({ inserted: 0, replayed: 1 });

    const changed = [leg(1n), { ...first[1]!, amountNano: 201n }];
    const err = await errorOf(t.db.transaction((tx) => postTransfersBatch(tx, { transfers: changed })));
    expect(err.code).toBe("CONFLICT");
    expect(err.field).toBe("transfers[1].amountNano");
    expect(await count("select count(*) from ledger_transfers where id = $1", [changed[0]!.id])).toBe(0);
    expect((await getBalance(t.db, { accountId: f.buyer.id })).postedNano).toBe(10_000n - 600n);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("the same batch posted by two transactions at once is applied once; the other reports replays", async () => {
    const f = await newBuyer(1_000_000n);
    const rows = Array.from({ length: 500 }, () => ({
      id: uuidv7(),
      debitAccountId: f.buyer.id,
      creditAccountId: f.revenue.id,
      amountNano: 7n,
      code: "usage" as const,
    }));
    const results = await Promise.all([0, 1, 2].map(() => t.db.transaction((tx) => postTransfersBatch(tx, { transfers: rows }))));
    expect(results.map((r) => r.inserted).sort()).toEqual([0, 0, 500]);
    expect(results.every((r) => r.inserted + r.replayed === 500)).toBe(true);
    expect((await getBalance(t.db, { accountId: f.buyer.id })).postedNano).toBe(1_000_000n - 3500n);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a refused batch aborts the caller's transaction, as a refused statement would", async () => {
    const f = await newBuyer(10n);
    const refused: unknown[] = [];
    const after = await t.db
      .transaction(async (tx) => {
        await postTransfersBatch(tx, {
          transfers: [{ id: uuidv7(), debitAccountId: f.buyer.id, creditAccountId: f.revenue.id, amountNano: 11n, code: "usage" }],
        }).catch((e: unknown) => refused.push(e));
        // Caught above, but the transaction cannot go on to commit anything.
        await tx.execute(sql`select 1`);
      })
      .then(
        () => null,
        (e: unknown) => e as Error,
      );
    expect((refused[0] as DomainError).code).toBe("INSUFFICIENT_CREDIT");
    expect(String(after?.cause ?? after)).toMatch(/current transaction is aborted/);
    const unknown = uuidv7();
    const missing = await errorOf(
      t.db.transaction((tx) =>
        postTransfersBatch(tx, { transfers: [{ id: uuidv7(), debitAccountId: f.buyer.id, creditAccountId: unknown, amountNano: 1n, code: "usage" }] }),
      ),
    );
    expect(missing.code).toBe("NOT_FOUND");
    expect(missing.field).toBe("transfers[0].creditAccountId");
    expect((await getBalance(t.db, { accountId: f.buyer.id })).postedNano).toBe(10n);
  });
});
