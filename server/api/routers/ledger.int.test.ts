import type { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uuidv7 } from "../../lib/ids";
import { parseUsd } from "../../ledger/money";
import { createPending } from "../../ledger/service";
import { ledgerFixture, topUp } from "../../ledger/testing";
import { createTestDb, type TestDb } from "../../testing/db";
import { addMember, callerFor, makeOrg, makeUser } from "../../testing/fixtures";
import type { SessionUser } from "../trpc";

let t: TestDb;
let a: Awaited<ReturnType<typeof ledgerFixture>>;
let b: Awaited<ReturnType<typeof ledgerFixture>>;
let devA: SessionUser, platformFinance: SessionUser;

beforeAll(async () => {
  t = await createTestDb();
  a = await ledgerFixture(t.db);
  b = await ledgerFixture(t.db);
  await topUp(t.db, a.buyer, a.clearing, parseUsd("10"));
  await topUp(t.db, b.buyer, b.clearing, parseUsd("99"));
  await t.db.transaction((tx) =>
    createPending(tx, {
      id: uuidv7(),
      debitAccountId: a.buyer.id,
      creditAccountId: a.holds.id,
      amountNano: parseUsd("1"),
      code: "reservation",
      expiresAt: new Date(Date.now() + 3_600_000),
    }),
  );
  devA = await makeUser(t.db, "devA");
  await addMember(t.db, a.org.id, devA, "developer");
  const platformOwner = await makeUser(t.db, "platform-owner");
  const platform = await makeOrg(t.db, platformOwner, { isPlatform: true });
  platformFinance = await makeUser(t.db, "platform-finance");
  await addMember(t.db, platform.id, platformFinance, "finance");
});
afterAll(() => t.close());

describe("ledger.balances", () => {
  it("shows any member their active organisation's accounts and nothing of another's", async () => {
    const balances = await callerFor(t.db, devA).ledger.balances();
    expect(balances).toEqual([
      {
        id: a.buyer.id,
        kind: "buyer_credits",
        currency: "USD",
        postedNano: parseUsd("10"),
        pendingNano: -parseUsd("1"),
        availableNano: parseUsd("9"),
        creditLimitNano: 0n,
      },
    ]);
    const ofB = await callerFor(t.db, b.owner).ledger.balances();
    expect(ofB.map((x) => x.id)).toEqual([b.buyer.id]);
  });
});

describe("platform finance reads", () => {
  it("a trial balance that balances", async () => {
    const tb = await callerFor(t.db, platformFinance).ledger.trialBalance();
    expect(tb.totals).toEqual([{ currency: "USD", debitsNano: parseUsd("109"), creditsNano: parseUsd("109"), balanced: true }]);
    expect(tb.kinds.find((k) => k.kind === "buyer_credits")).toMatchObject({ accounts: 2, balanceNano: parseUsd("109"), pendingDebitsNano: parseUsd("1") });
  });

  it("any account's statement, and a clean invariant check", async () => {
    const caller = callerFor(t.db, platformFinance);
    const s = await caller.ledger.statement({ accountId: b.buyer.id });
    expect(s.entries.map((e) => [e.code, e.balanceNano])).toEqual([["topup", parseUsd("99")]]);
    expect(await caller.ledger.invariants()).toEqual([]);
  });

  it("names a bad account id, and answers NOT_FOUND for an unknown one", async () => {
    const caller = callerFor(t.db, platformFinance);
    const bad = await caller.ledger.statement({ accountId: "nope" }).catch((e: unknown) => e as TRPCError);
    expect(bad).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("accountId") });
    const unknown = await caller.ledger.statement({ accountId: uuidv7() }).catch((e: unknown) => e as TRPCError);
    expect(unknown).toMatchObject({ code: "NOT_FOUND" });
  });
});
