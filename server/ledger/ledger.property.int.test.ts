import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DomainError } from "../errors";
import { uuidv7 } from "../lib/ids";
import { createTestDb, type TestDb } from "../testing/db";
import { makeOrg, makeUser } from "../testing/fixtures";
import type { Transfer } from "./posting";
import {
  checkInvariants,
  createPending,
  ensureAccount,
  expirePending,
  getBalance,
  postPending,
  postTransfers,
  postTransfersBatch,
  voidPending,
  type LedgerAccount,
} from "./service";
import { topUp } from "./testing";

// Random sequences of postings and holds, run by several concurrent workers against
// a real PostgreSQL. After every run: the invariant check finds nothing, posted balances
// match what the successful operations say, and replaying any operation changes nothing.

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb(12);
});
afterAll(() => t.close());

type Op =
  | { op: "topup"; buyer: number; amount: bigint }
  | { op: "transfer"; from: number; to: number; amount: bigint }
  | { op: "multileg"; from: number; to: number; amounts: [bigint, bigint] }
  | { op: "batch"; from: number; legs: { to: number; amount: bigint; hold: boolean }[] }
  | { op: "pending"; buyer: number; amount: bigint; ttlSeconds: number }
  | { op: "post"; pending: number; amount: bigint | null }
  | { op: "void"; pending: number }
  | { op: "expire"; atSeconds: number };

const BUYERS = 3;
const buyer = fc.nat({ max: BUYERS - 1 });
const amount = fc.bigInt({ min: 1n, max: 500n });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant("topup" as const), buyer, amount }),
  fc.record({ op: fc.constant("transfer" as const), from: buyer, to: fc.nat({ max: BUYERS }), amount }),
  fc.record({ op: fc.constant("multileg" as const), from: buyer, to: fc.nat({ max: BUYERS }), amounts: fc.tuple(amount, amount) }),
  fc.record({
    op: fc.constant("batch" as const),
    from: buyer,
    legs: fc.array(fc.record({ to: fc.nat({ max: BUYERS }), amount, hold: fc.boolean() }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ op: fc.constant("pending" as const), buyer, amount, ttlSeconds: fc.integer({ min: 1, max: 60 }) }),
  fc.record({ op: fc.constant("post" as const), pending: fc.nat(), amount: fc.option(amount, { nil: null }) }),
  fc.record({ op: fc.constant("void" as const), pending: fc.nat() }),
  fc.record({ op: fc.constant("expire" as const), atSeconds: fc.integer({ min: 0, max: 70 }) }),
);

/** An operation with its ids fixed, so it can be replayed exactly. */
type Planned = { op: Op; ids: string[]; now: Date; pendingId?: string };
type Moved = Pick<Transfer, "type" | "debitAccountId" | "creditAccountId" | "amountNano">;
type Outcome = { ok: true; value: Moved[] | number } | { ok: false; code: string };

const EXPECTED_REFUSALS = new Set(["INSUFFICIENT_CREDIT", "CONFLICT", "NOT_FOUND", "INVALID_INPUT"]);

describe("ledger properties under concurrency", () => {
  it("invariants hold, balances follow the operations, and any replay changes nothing", async () => {
    // What the runs actually did, so the property cannot pass by refusing everything.
    const succeeded = new Map<string, number>();
    const refused = new Map<string, number>();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(opArb, { minLength: 1, maxLength: 14 }), { minLength: 2, maxLength: 4 }), async (workers) => {
        const owner = await makeUser(t.db);
        const base = Date.now();
        const at = (s: number) => new Date(base + s * 1000);
        const clearing = await ensureAccount(t.db, { orgId: null, kind: "payments_clearing" });
        const holds = await ensureAccount(t.db, { orgId: null, kind: "usage_holds" });
        const accounts: LedgerAccount[] = [];
        for (let i = 0; i < BUYERS; i++) accounts.push(await ensureAccount(t.db, { orgId: (await makeOrg(t.db, owner)).id, kind: "buyer_credits" }));
        const revenue = await ensureAccount(t.db, { orgId: null, kind: "platform_revenue" });
        // Some credit to start with, so holds and spending succeed as well as fail.
        for (const a of accounts) await topUp(t.db, a, clearing, 1500n);
        const target = (i: number) => (i < BUYERS ? accounts[i]! : revenue);

        // Fix every id and clock up front; holds are referred to by their position.
        const plans: Planned[][] = workers.map((ops) => ops.map((op, step) => ({ op, ids: [uuidv7(), uuidv7(), uuidv7(), uuidv7()], now: at(step) })));
        // Holds created earlier by the same worker are preferred (they exist, so posts and voids
        // resolve them and later ones collide); otherwise any worker's, which races their creation.
        const pendingIds = plans
          .flat()
          .filter((p) => p.op.op === "pending")
          .map((p) => p.ids[0]!);
        for (const ops of plans) {
          const earlier: string[] = [];
          for (const p of ops) {
            if (p.op.op === "pending") earlier.push(p.ids[0]!);
            if (p.op.op !== "post" && p.op.op !== "void") continue;
            const from = earlier.length ? earlier : pendingIds;
            if (from.length) p.pendingId = from[p.op.pending % from.length];
          }
        }

        const exec = (p: Planned): Promise<Moved[] | number> => {
          const { op, ids, now } = p;
          switch (op.op) {
            case "topup":
              return t.db.transaction((tx) =>
                postTransfers(tx, {
                  transfers: [{ id: ids[0]!, debitAccountId: clearing.id, creditAccountId: accounts[op.buyer]!.id, amountNano: op.amount, code: "topup" }],
                  now,
                }),
              );
            case "transfer":
              if (op.from === op.to) return Promise.resolve([]);
              return t.db.transaction((tx) =>
                postTransfers(tx, {
                  transfers: [{ id: ids[0]!, debitAccountId: accounts[op.from]!.id, creditAccountId: target(op.to).id, amountNano: op.amount, code: "usage" }],
                  now,
                }),
              );
            case "multileg":
              if (op.from === op.to) return Promise.resolve([]);
              return t.db.transaction((tx) =>
                postTransfers(tx, {
                  transfers: [
                    { id: ids[0]!, debitAccountId: accounts[op.from]!.id, creditAccountId: target(op.to).id, amountNano: op.amounts[0], code: "usage" },
                    { id: ids[1]!, debitAccountId: accounts[op.from]!.id, creditAccountId: revenue.id, amountNano: op.amounts[1], code: "usage" },
                  ],
                  now,
                }),
              );
            case "batch": {
              // The bulk path (settlement's): a replay reports counts, so the outcome is what the legs moved.
              const legs = op.legs.map((l, i) => {
                const to = l.to === op.from ? revenue : target(l.to);
                return l.hold
                  ? {
                      id: ids[i]!,
                      debitAccountId: accounts[op.from]!.id,
                      creditAccountId: holds.id,
                      amountNano: l.amount,
                      code: "reservation" as const,
                      pending: { expiresAt: at(30) },
                    }
                  : { id: ids[i]!, debitAccountId: accounts[op.from]!.id, creditAccountId: to.id, amountNano: l.amount, code: "usage" as const };
              });
              return t.db
                .transaction((tx) => postTransfersBatch(tx, { transfers: legs, now }))
                .then(() =>
                  legs.map((l) => ({
                    type: l.pending ? ("pending" as const) : ("single" as const),
                    debitAccountId: l.debitAccountId,
                    creditAccountId: l.creditAccountId,
                    amountNano: l.amountNano,
                  })),
                );
            }
            case "pending":
              return t.db
                .transaction((tx) =>
                  createPending(tx, {
                    id: ids[0]!,
                    debitAccountId: accounts[op.buyer]!.id,
                    creditAccountId: holds.id,
                    amountNano: op.amount,
                    code: "reservation",
                    expiresAt: new Date(now.getTime() + op.ttlSeconds * 1000),
                    now,
                  }),
                )
                .then((x) => [x]);
            case "post":
              if (!p.pendingId) return Promise.resolve([]);
              return t.db
                .transaction((tx) => postPending(tx, { id: ids[0]!, pendingId: p.pendingId!, ...(op.amount === null ? {} : { amountNano: op.amount }), now }))
                .then((x) => [x]);
            case "void":
              if (!p.pendingId) return Promise.resolve([]);
              return t.db.transaction((tx) => voidPending(tx, { id: ids[0]!, pendingId: p.pendingId!, now })).then((x) => [x]);
            case "expire":
              return expirePending(t.db, { now: at(op.atSeconds), batchSize: 3 });
          }
        };
        const attempt = (p: Planned): Promise<Outcome> =>
          exec(p).then(
            (value) => ({ ok: true, value }),
            (e: unknown) => {
              if (e instanceof DomainError && EXPECTED_REFUSALS.has(e.code)) return { ok: false, code: e.code };
              throw e; // deadlocks, serialisation failures or bugs fail the property
            },
          );

        const outcomes = new Map<Planned, Outcome>();
        await Promise.all(
          plans.map(async (ops) => {
            for (const p of ops) outcomes.set(p, await attempt(p));
          }),
        );

        for (const [p, o] of outcomes) {
          const tally = o.ok ? succeeded : refused;
          tally.set(o.ok ? p.op.op : o.code, (tally.get(o.ok ? p.op.op : o.code) ?? 0) + 1);
        }
        expect(await checkInvariants(t.db)).toEqual([]);

        // Posted balances are exactly the opening credit plus what the successful operations moved.
        const expected = accounts.map(() => 1500n);
        for (const [, o] of outcomes) {
          if (!o.ok || typeof o.value === "number") continue;
          for (const tr of o.value) {
            if (tr.type !== "single" && tr.type !== "post_pending") continue;
            accounts.forEach((a, i) => {
              if (tr.creditAccountId === a.id) expected[i]! += tr.amountNano;
              if (tr.debitAccountId === a.id) expected[i]! -= tr.amountNano;
            });
          }
        }
        for (const [i, a] of accounts.entries()) {
          const b = await getBalance(t.db, { accountId: a.id });
          expect(b.postedNano).toBe(expected[i]);
          expect(b.availableNano).toBeGreaterThanOrEqual(0n);
        }

        // Replaying any successful operation returns what it returned and changes nothing.
        // (A sweep is not keyed by an id: it is a function of the clock, checked by the invariants.)
        const snapshot = async () =>
          (
            await t.pool.query(
              `select (select count(*) from ledger_transfers)::int as transfers,
                      (select json_agg(a order by a.id) from ledger_accounts a) as accounts,
                      (select count(*) from ledger_pending where status = 'open')::int as open`,
            )
          ).rows[0];
        const before = await snapshot();
        for (const [p, o] of outcomes) {
          if (!o.ok || p.op.op === "expire") continue;
          expect(await attempt(p)).toEqual(o);
        }
        expect(await snapshot()).toEqual(before);
      }),
      { numRuns: 40 },
    );
    for (const op of ["topup", "transfer", "multileg", "batch", "pending", "post", "void", "expire"]) expect(succeeded.get(op) ?? 0).toBeGreaterThan(0);
    expect(refused.get("INSUFFICIENT_CREDIT") ?? 0).toBeGreaterThan(0);
    expect(refused.get("CONFLICT") ?? 0).toBeGreaterThan(0);
  }, 240_000);
});
