import type { LedgerAccountKind, LedgerPendingStatus, LedgerTransferCode, LedgerTransferType } from "../../db/schema/ledger";
import { DomainError } from "../errors";
import { isUuid } from "../lib/ids";
import { INT64_MAX } from "./money";

/**
 * The ledger's rules, with no I/O: what a valid transfer is, how a replay is
 * compared with the original, how a pending transfer may be resolved, how a
 * transfer is reversed, and what an account's balance means.
 */

export type TransferRef = { kind: string; id: string };

/** What a caller asks to post. `pending` makes it a hold that expires at `expiresAt`. */
export type TransferInput = {
  /** Caller-chosen; the idempotency key. */
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amountNano: bigint;
  code: LedgerTransferCode;
  ref?: TransferRef | null;
  pending?: { expiresAt: Date } | null;
};

/** A transfer as stored. */
export type Transfer = {
  id: string;
  debitAccountId: string;
  creditAccountId: string;
  amountNano: bigint;
  type: LedgerTransferType;
  pendingId: string | null;
  expiresAt: Date | null;
  code: LedgerTransferCode;
  refKind: string | null;
  refId: string | null;
  createdAt: Date;
};

/** Largest number of transfers one posting statement takes. */
export const MAX_TRANSFERS_PER_POSTING = 10_000;

const invalid = (field: string, message: string) => new DomainError("INVALID_INPUT", `${field}: ${message}`, field);

/**
 * Checks a multi-leg posting before anything is written; throws INVALID_INPUT naming
 * the leg and field (`transfers[2].amountNano`). Pending legs must expire after `now`.
 */
export function validateTransfers(transfers: readonly TransferInput[], now: Date): void {
  if (transfers.length === 0) throw invalid("transfers", "at least one transfer is required");
  if (transfers.length > MAX_TRANSFERS_PER_POSTING) throw invalid("transfers", `at most ${MAX_TRANSFERS_PER_POSTING} transfers per posting`);
  const seen = new Set<string>();
  transfers.forEach((t, i) => {
    const f = (name: string) => `transfers[${i}].${name}`;
    if (!isUuid(t.id)) throw invalid(f("id"), "must be a UUID");
    const id = t.id.toLowerCase();
    if (seen.has(id)) throw invalid(f("id"), "appears twice in one posting");
    seen.add(id);
    if (!isUuid(t.debitAccountId)) throw invalid(f("debitAccountId"), "must be a UUID");
    if (!isUuid(t.creditAccountId)) throw invalid(f("creditAccountId"), "must be a UUID");
    if (t.debitAccountId.toLowerCase() === t.creditAccountId.toLowerCase()) {
      throw invalid(f("creditAccountId"), "must differ from the debit account");
    }
    if (typeof t.amountNano !== "bigint" || t.amountNano <= 0n) throw invalid(f("amountNano"), "must be a positive number of nano-USD");
    if (t.amountNano > INT64_MAX) throw invalid(f("amountNano"), "overflows a 64-bit integer");
    if (t.ref && (!t.ref.kind || !t.ref.id)) throw invalid(f("ref"), "needs both a kind and an id");
    if (t.pending) {
      const at = t.pending.expiresAt;
      if (!(at instanceof Date) || Number.isNaN(at.getTime())) throw invalid(f("pending.expiresAt"), "must be a date");
      if (at.getTime() <= now.getTime()) throw invalid(f("pending.expiresAt"), "must be in the future");
    }
  });
}

/**
 * The first field in which a replayed request differs from the stored transfer, or null
 * when the replay is the same request (then it returns the original and changes nothing).
 */
export function mismatchedField(stored: Transfer, requested: TransferInput): string | null {
  const type: LedgerTransferType = requested.pending ? "pending" : "single";
  const checks: [string, boolean][] = [
    ["type", stored.type === type],
    ["debitAccountId", stored.debitAccountId === requested.debitAccountId.toLowerCase()],
    ["creditAccountId", stored.creditAccountId === requested.creditAccountId.toLowerCase()],
    ["amountNano", stored.amountNano === requested.amountNano],
    ["code", stored.code === requested.code],
    ["ref", stored.refKind === (requested.ref?.kind ?? null) && stored.refId === (requested.ref?.id ?? null)],
    ["pending.expiresAt", (stored.expiresAt?.getTime() ?? null) === (requested.pending?.expiresAt.getTime() ?? null)],
  ];
  return checks.find(([, same]) => !same)?.[0] ?? null;
}

export type PendingState = {
  pendingId: string;
  debitAccountId: string;
  creditAccountId: string;
  amountNano: bigint;
  expiresAt: Date;
  status: LedgerPendingStatus;
  resolvedBy: string | null;
};

export type ResolutionKind = "post_pending" | "void_pending" | "expire_pending";

/** How a resolution moves the two accounts: posted amount (0 unless posting) and the hold released (always all of it). */
export type Resolution = { type: ResolutionKind; postedNano: bigint; releasedNano: bigint; transferAmountNano: bigint };

const STATUS_OF: Record<ResolutionKind, LedgerPendingStatus> = {
  post_pending: "posted",
  void_pending: "voided",
  expire_pending: "expired",
};
export const resolutionStatus = (type: ResolutionKind): LedgerPendingStatus => STATUS_OF[type];

/**
 * Decides a resolution of an open pending transfer at `now`: post all or part
 * (`amountNano`, default all; the rest is released), void, or expire. Post and void are
 * refused once the hold has expired (the sweeper releases it); expiry before it has.
 * Throws CONFLICT when the pending transfer is no longer open, INVALID_INPUT for a bad amount.
 */
export function decideResolution(pending: PendingState, type: ResolutionKind, now: Date, amountNano?: bigint): Resolution {
  if (pending.status !== "open") {
    throw new DomainError("CONFLICT", `pending transfer ${pending.pendingId} is already ${pending.status}`, "pendingId");
  }
  const expired = pending.expiresAt.getTime() <= now.getTime();
  if (type === "expire_pending") {
    if (!expired) throw new DomainError("CONFLICT", `pending transfer ${pending.pendingId} has not expired yet`, "pendingId");
    return { type, postedNano: 0n, releasedNano: pending.amountNano, transferAmountNano: pending.amountNano };
  }
  if (expired) {
    throw new DomainError("CONFLICT", `pending transfer ${pending.pendingId} expired at ${pending.expiresAt.toISOString()}`, "pendingId");
  }
  if (type === "void_pending") {
    if (amountNano !== undefined) throw invalid("amountNano", "a void releases the whole pending amount");
    return { type, postedNano: 0n, releasedNano: pending.amountNano, transferAmountNano: pending.amountNano };
  }
  const posted = amountNano ?? pending.amountNano;
  if (posted <= 0n) throw invalid("amountNano", "must be positive (void the pending transfer to post nothing)");
  if (posted > pending.amountNano) throw invalid("amountNano", `must not exceed the pending amount ${pending.amountNano}`);
  return { type, postedNano: posted, releasedNano: pending.amountNano, transferAmountNano: posted };
}

/**
 * The transfer that undoes a posted one: same amount, accounts swapped, code `reversal`,
 * referring to the original. Pending transfers are not reversed (void them); resolutions
 * of pending transfers are reversed like any posted transfer only when they posted money.
 */
export function reverseTransfer(original: Transfer, newId: string): TransferInput {
  if (original.type !== "single" && original.type !== "post_pending") {
    throw new DomainError(
      "INVALID_INPUT",
      `transfer ${original.id} is ${original.type} and moved no posted money; void a pending transfer instead`,
      "transferId",
    );
  }
  return {
    id: newId,
    debitAccountId: original.creditAccountId,
    creditAccountId: original.debitAccountId,
    amountNano: original.amountNano,
    code: "reversal",
    ref: { kind: "ledger_transfer", id: original.id },
  };
}

/** Accounts whose balance is credits − debits (what the platform owes or earned); the rest are debits − credits. */
const CREDIT_NORMAL: ReadonlySet<LedgerAccountKind> = new Set([
  "buyer_credits",
  "provider_payable",
  "provider_unfunded",
  "platform_revenue",
  "payouts",
  "usage_holds",
  "usage_clearing",
]);
export const normalSide = (kind: LedgerAccountKind): "credit" | "debit" => (CREDIT_NORMAL.has(kind) ? "credit" : "debit");

/** Organisation accounts need an organisation; the platform's own accounts must not have one. */
const ORG_KINDS: ReadonlySet<LedgerAccountKind> = new Set(["buyer_credits", "buyer_receivable", "provider_payable", "provider_unfunded"]);
export const accountScope = (kind: LedgerAccountKind): "org" | "platform" => (ORG_KINDS.has(kind) ? "org" : "platform");

/** Default limit flags: what buyers hold and what providers are owed (funded or not) cannot be spent twice. */
export function defaultLimitFlags(kind: LedgerAccountKind): { debitsMustNotExceedCredits: boolean; creditsMustNotExceedDebits: boolean } {
  const limited = kind === "buyer_credits" || kind === "provider_payable" || kind === "provider_unfunded";
  return { debitsMustNotExceedCredits: limited, creditsMustNotExceedDebits: false };
}

export type AccountSums = {
  kind: LedgerAccountKind;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
  creditLimitNano: bigint;
  debitsMustNotExceedCredits: boolean;
  creditsMustNotExceedDebits: boolean;
};

/**
 * An account's balance on its normal side (nano-USD): posted; pending (net holds, incoming
 * minus outgoing); available = posted − outgoing holds, plus the credit limit when the
 * account is limited on that side (what a new debit of a buyer account may take).
 */
export function accountBalance(a: AccountSums): { postedNano: bigint; pendingNano: bigint; availableNano: bigint } {
  if (normalSide(a.kind) === "credit") {
    const postedNano = a.creditsPosted - a.debitsPosted;
    return {
      postedNano,
      pendingNano: a.creditsPending - a.debitsPending,
      availableNano: postedNano - a.debitsPending + (a.debitsMustNotExceedCredits ? a.creditLimitNano : 0n),
    };
  }
  const postedNano = a.debitsPosted - a.creditsPosted;
  return {
    postedNano,
    pendingNano: a.debitsPending - a.creditsPending,
    availableNano: postedNano - a.creditsPending + (a.creditsMustNotExceedDebits ? a.creditLimitNano : 0n),
  };
}

export type AccountDelta = { accountId: string; debitsPosted: bigint; creditsPosted: bigint; debitsPending: bigint; creditsPending: bigint };

/** Accumulates per-account changes so each account is updated once, in id order. */
function deltaTable() {
  const byId = new Map<string, AccountDelta>();
  return {
    of(accountId: string): AccountDelta {
      const id = accountId.toLowerCase();
      let d = byId.get(id);
      if (!d) byId.set(id, (d = { accountId: id, debitsPosted: 0n, creditsPosted: 0n, debitsPending: 0n, creditsPending: 0n }));
      return d;
    },
    // Lower-case hex in string order is PostgreSQL's uuid order: the order every writer locks accounts in (no deadlocks).
    sorted: () => [...byId.values()].sort((a, b) => (a.accountId < b.accountId ? -1 : a.accountId > b.accountId ? 1 : 0)),
  };
}

/** Per-account changes of a posting (single legs move the posted sums, pending legs the pending sums). */
export function postingDeltas(transfers: readonly TransferInput[]): AccountDelta[] {
  const table = deltaTable();
  for (const t of transfers) {
    const debit = table.of(t.debitAccountId);
    const credit = table.of(t.creditAccountId);
    if (t.pending) {
      debit.debitsPending += t.amountNano;
      credit.creditsPending += t.amountNano;
    } else {
      debit.debitsPosted += t.amountNano;
      credit.creditsPosted += t.amountNano;
    }
  }
  return table.sorted();
}

/** Per-account changes of a set of pending resolutions. */
export function resolutionDeltas(items: readonly { debitAccountId: string; creditAccountId: string; resolution: Resolution }[]): AccountDelta[] {
  const table = deltaTable();
  for (const { debitAccountId, creditAccountId, resolution: r } of items) {
    const debit = table.of(debitAccountId);
    debit.debitsPosted += r.postedNano;
    debit.debitsPending -= r.releasedNano;
    const credit = table.of(creditAccountId);
    credit.creditsPosted += r.postedNano;
    credit.creditsPending -= r.releasedNano;
  }
  return table.sorted();
}
