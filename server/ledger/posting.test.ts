import { describe, expect, it } from "vitest";
import { DomainError } from "../errors";
import { INT64_MAX } from "./money";
import {
  accountBalance,
  accountScope,
  decideResolution,
  mismatchedField,
  postingDeltas,
  resolutionDeltas,
  reverseTransfer,
  validateTransfers,
  type AccountSums,
  type PendingState,
  type Transfer,
  type TransferInput,
} from "./posting";

const A = "00000000-0000-7000-8000-00000000000a";
const B = "00000000-0000-7000-8000-00000000000b";
const C = "00000000-0000-7000-8000-00000000000c";
const ID1 = "00000000-0000-7000-8000-000000000001";
const ID2 = "00000000-0000-7000-8000-000000000002";
const NOW = new Date("2026-01-01T00:00:00Z");
const LATER = new Date("2026-01-01T01:00:00Z");

const leg = (over: Partial<TransferInput> = {}): TransferInput => ({
  id: ID1,
  debitAccountId: A,
  creditAccountId: B,
  amountNano: 100n,
  code: "usage",
  ...over,
});

function fieldOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof DomainError) return e.field;
    throw e;
  }
  return "no error";
}

describe("validateTransfers", () => {
  it.each([
    ["no legs", [], "transfers"],
    ["zero amount", [leg({ amountNano: 0n })], "transfers[0].amountNano"],
    ["negative amount", [leg({ amountNano: -1n })], "transfers[0].amountNano"],
    ["amount past int64", [leg({ amountNano: INT64_MAX + 1n })], "transfers[0].amountNano"],
    ["same debit and credit account", [leg({ creditAccountId: A.toUpperCase() })], "transfers[0].creditAccountId"],
    ["duplicate id in one posting", [leg(), leg({ id: ID1.toUpperCase() })], "transfers[1].id"],
    ["id not a uuid", [leg({ id: "x" })], "transfers[0].id"],
    ["debit account not a uuid", [leg({ debitAccountId: "x" })], "transfers[0].debitAccountId"],
    ["ref without id", [leg({ ref: { kind: "usage_batch", id: "" } })], "transfers[0].ref"],
    ["pending expiring now", [leg({ pending: { expiresAt: NOW } })], "transfers[0].pending.expiresAt"],
    ["pending with an invalid date", [leg({ pending: { expiresAt: new Date("nope") } })], "transfers[0].pending.expiresAt"],
  ])("refuses %s, naming the field", (_label, legs, field) => {
    expect(fieldOf(() => validateTransfers(legs, NOW))).toBe(field);
  });

  it.each([
    ["one leg", [leg()]],
    ["the largest amount", [leg({ amountNano: INT64_MAX })]],
    ["two legs", [leg(), leg({ id: ID2, debitAccountId: B, creditAccountId: C })]],
    ["a pending leg expiring later", [leg({ pending: { expiresAt: LATER } })]],
  ])("accepts %s", (_label, legs) => {
    expect(() => validateTransfers(legs, NOW)).not.toThrow();
  });
});

const stored = (over: Partial<Transfer> = {}): Transfer => ({
  id: ID1,
  debitAccountId: A,
  creditAccountId: B,
  amountNano: 100n,
  type: "single",
  pendingId: null,
  expiresAt: null,
  code: "usage",
  refKind: "usage_batch",
  refId: "b1",
  createdAt: NOW,
  ...over,
});

describe("mismatchedField", () => {
  const req = leg({ ref: { kind: "usage_batch", id: "b1" } });
  it.each([
    ["identical replay", stored(), req, null],
    ["upper-case ids are the same ids", stored(), { ...req, debitAccountId: A.toUpperCase() }, null],
    ["different amount", stored(), { ...req, amountNano: 101n }, "amountNano"],
    ["different debit account", stored(), { ...req, debitAccountId: C }, "debitAccountId"],
    ["different credit account", stored(), { ...req, creditAccountId: C }, "creditAccountId"],
    ["different code", stored(), { ...req, code: "refund" as const }, "code"],
    ["different ref id", stored(), { ...req, ref: { kind: "usage_batch", id: "b2" } }, "ref"],
    ["ref missing", stored(), { ...req, ref: null }, "ref"],
    ["pending vs single", stored(), { ...req, pending: { expiresAt: LATER } }, "type"],
    ["different expiry", stored({ type: "pending", expiresAt: LATER }), { ...req, pending: { expiresAt: NOW } }, "pending.expiresAt"],
  ])("%s", (_label, s, r, field) => {
    expect(mismatchedField(s, r)).toBe(field);
  });
});

const pending = (over: Partial<PendingState> = {}): PendingState => ({
  pendingId: ID1,
  debitAccountId: A,
  creditAccountId: B,
  amountNano: 100n,
  expiresAt: LATER,
  status: "open",
  resolvedBy: null,
  ...over,
});

describe("decideResolution", () => {
  it.each([
    ["post all", pending(), "post_pending", NOW, undefined, { postedNano: 100n, releasedNano: 100n, transferAmountNano: 100n }],
    ["post part: the rest is released", pending(), "post_pending", NOW, 30n, { postedNano: 30n, releasedNano: 100n, transferAmountNano: 30n }],
    ["post exactly the pending amount", pending(), "post_pending", NOW, 100n, { postedNano: 100n, releasedNano: 100n, transferAmountNano: 100n }],
    ["void releases everything", pending(), "void_pending", NOW, undefined, { postedNano: 0n, releasedNano: 100n, transferAmountNano: 100n }],
    ["expire at the expiry instant", pending(), "expire_pending", LATER, undefined, { postedNano: 0n, releasedNano: 100n, transferAmountNano: 100n }],
  ] as const)("%s", (_label, p, type, now, amount, expected) => {
    expect(decideResolution(p, type, now, amount)).toEqual({ type, ...expected });
  });

  it.each([
    ["post after posted", pending({ status: "posted", resolvedBy: ID2 }), "post_pending", NOW, undefined, "CONFLICT"],
    ["void after voided", pending({ status: "voided", resolvedBy: ID2 }), "void_pending", NOW, undefined, "CONFLICT"],
    ["post after expired", pending({ status: "expired", resolvedBy: ID2 }), "post_pending", NOW, undefined, "CONFLICT"],
    ["post once the expiry has passed", pending(), "post_pending", LATER, undefined, "CONFLICT"],
    ["void once the expiry has passed", pending(), "void_pending", LATER, undefined, "CONFLICT"],
    ["expire before the expiry", pending(), "expire_pending", NOW, undefined, "CONFLICT"],
    ["post more than pending", pending(), "post_pending", NOW, 101n, "INVALID_INPUT"],
    ["post zero", pending(), "post_pending", NOW, 0n, "INVALID_INPUT"],
    ["void with an amount", pending(), "void_pending", NOW, 5n, "INVALID_INPUT"],
  ] as const)("refuses %s", (_label, p, type, now, amount, code) => {
    expect(() => decideResolution(p, type, now, amount)).toThrow(expect.objectContaining({ code }));
  });
});

describe("reverseTransfer", () => {
  it("swaps the accounts, keeps the amount, and refers to the original", () => {
    expect(reverseTransfer(stored(), ID2)).toEqual({
      id: ID2,
      debitAccountId: B,
      creditAccountId: A,
      amountNano: 100n,
      code: "reversal",
      ref: { kind: "ledger_transfer", id: ID1 },
    });
  });
  it("reverses a posted resolution like any posted transfer", () => {
    expect(reverseTransfer(stored({ type: "post_pending", pendingId: ID2, amountNano: 40n }), ID2).amountNano).toBe(40n);
  });
  it.each(["pending", "void_pending", "expire_pending"] as const)("refuses a %s transfer (nothing posted to undo)", (type) => {
    expect(() => reverseTransfer(stored({ type }), ID2)).toThrow(DomainError);
  });
});

const sums = (over: Partial<AccountSums>): AccountSums => ({
  kind: "buyer_credits",
  debitsPosted: 0n,
  creditsPosted: 0n,
  debitsPending: 0n,
  creditsPending: 0n,
  creditLimitNano: 0n,
  debitsMustNotExceedCredits: true,
  creditsMustNotExceedDebits: false,
  ...over,
});

describe("accountBalance", () => {
  it.each([
    ["empty buyer account", sums({}), [0n, 0n, 0n]],
    ["topped up $10, spent $3", sums({ creditsPosted: 10n, debitsPosted: 3n }), [7n, 0n, 7n]],
    ["a hold lowers available, not posted", sums({ creditsPosted: 10n, debitsPending: 4n }), [10n, -4n, 6n]],
    ["incoming holds do not count as available", sums({ creditsPosted: 10n, creditsPending: 5n }), [10n, 5n, 10n]],
    ["credit limit adds to available", sums({ creditsPosted: 10n, creditLimitNano: 5n }), [10n, 0n, 15n]],
    ["limit ignored without the flag", sums({ creditsPosted: 10n, creditLimitNano: 5n, debitsMustNotExceedCredits: false }), [10n, 0n, 10n]],
    [
      "debit-normal clearing account",
      sums({ kind: "payments_clearing", debitsPosted: 10n, creditsPosted: 2n, creditsPending: 1n, debitsMustNotExceedCredits: false }),
      [8n, -1n, 7n],
    ],
  ] as const)("%s", (_label, a, [postedNano, pendingNano, availableNano]) => {
    expect(accountBalance(a)).toEqual({ postedNano, pendingNano, availableNano });
  });
});

describe("accountScope", () => {
  it.each([
    ["buyer_credits", "org"],
    ["provider_payable", "org"],
    ["platform_revenue", "platform"],
    ["payments_clearing", "platform"],
  ] as const)("%s belongs to the %s", (kind, scope) => {
    expect(accountScope(kind)).toBe(scope);
  });
});

describe("resolutionDeltas", () => {
  it("aggregates per account and sorts by id (the lock order)", () => {
    const post = decideResolution(pending(), "post_pending", NOW, 30n);
    const voided = decideResolution(pending({ amountNano: 50n, debitAccountId: C, creditAccountId: B }), "void_pending", NOW);
    expect(
      resolutionDeltas([
        { debitAccountId: C, creditAccountId: B, resolution: voided },
        { debitAccountId: A, creditAccountId: B, resolution: post },
      ]),
    ).toEqual([
      { accountId: A, debitsPosted: 30n, creditsPosted: 0n, debitsPending: -100n, creditsPending: 0n },
      { accountId: B, debitsPosted: 0n, creditsPosted: 30n, debitsPending: 0n, creditsPending: -150n },
      { accountId: C, debitsPosted: 0n, creditsPosted: 0n, debitsPending: -50n, creditsPending: 0n },
    ]);
  });
});

describe("postingDeltas", () => {
  it("moves posted sums for single legs and pending sums for holds, once per account, in lock order, whatever the case of the ids", () => {
    const deltas = postingDeltas([
      { id: "x", debitAccountId: C.toUpperCase(), creditAccountId: A, amountNano: 7n, code: "usage" },
      { id: "y", debitAccountId: C, creditAccountId: B, amountNano: 5n, code: "reservation", pending: { expiresAt: NOW } },
      { id: "z", debitAccountId: A, creditAccountId: C, amountNano: 2n, code: "usage" },
    ]);
    expect(deltas).toEqual([
      { accountId: A, debitsPosted: 2n, creditsPosted: 7n, debitsPending: 0n, creditsPending: 0n },
      { accountId: B, debitsPosted: 0n, creditsPosted: 0n, debitsPending: 0n, creditsPending: 5n },
      { accountId: C, debitsPosted: 7n, creditsPosted: 2n, debitsPending: 5n, creditsPending: 0n },
    ]);
  });
});
