import { sql, type SQL } from "drizzle-orm";
import type { Db, DbOrTx, Tx } from "../../db/client";
import type { LedgerAccountKind, LedgerPendingStatus, LedgerTransferCode, LedgerTransferType } from "../../db/schema/ledger";
import { DomainError } from "../errors";
import { isUuid, uuidv7 } from "../lib/ids";
import { keysetPage, pageFetchSize, pageLimit } from "../lib/paging";
import { pgArray } from "../lib/pg-array";
import { parseTimestamp as toDate, parseTimestampOrNull as toDateOrNull } from "../lib/timestamps";
import {
  accountBalance,
  accountScope,
  decideResolution,
  defaultLimitFlags,
  mismatchedField,
  normalSide,
  postingDeltas,
  resolutionDeltas,
  resolutionStatus,
  validateTransfers,
  type AccountDelta,
  type PendingState,
  type Resolution,
  type ResolutionKind,
  type Transfer,
  type TransferInput,
  type TransferRef,
} from "./posting";

/**
 * The ledger's store. Writers take the caller's transaction (`Tx`): a domain posts its
 * transfers in the same transaction as its own rows. Each posting is one SQL statement
 * that inserts the transfers, locks the accounts in id order, moves their balances with
 * one aggregated conditional UPDATE, and raises (aborting the caller's transaction) if
 * any account would pass its limit; so a posting is never half-applied and no
 * interleaving of transactions can overdraw an account.
 */

type Row = Record<string, unknown>;

export type LedgerAccount = {
  id: string;
  orgId: string | null;
  kind: LedgerAccountKind;
  currency: string;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
  creditLimitNano: bigint;
  debitsMustNotExceedCredits: boolean;
  creditsMustNotExceedDebits: boolean;
};

export type AccountBalance = LedgerAccount & { postedNano: bigint; pendingNano: bigint; availableNano: bigint };

export const toAccount = (r: Row): LedgerAccount => ({
  id: r.id as string,
  orgId: (r.org_id as string | null) ?? null,
  kind: r.kind as LedgerAccountKind,
  currency: r.currency as string,
  debitsPosted: r.debits_posted as bigint,
  creditsPosted: r.credits_posted as bigint,
  debitsPending: r.debits_pending as bigint,
  creditsPending: r.credits_pending as bigint,
  creditLimitNano: r.credit_limit_nano as bigint,
  debitsMustNotExceedCredits: r.debits_must_not_exceed_credits as boolean,
  creditsMustNotExceedDebits: r.credits_must_not_exceed_debits as boolean,
});

const toTransfer = (r: Row): Transfer => ({
  id: r.id as string,
  debitAccountId: r.debit_account_id as string,
  creditAccountId: r.credit_account_id as string,
  amountNano: r.amount_nano as bigint,
  type: r.type as LedgerTransferType,
  pendingId: (r.pending_id as string | null) ?? null,
  expiresAt: toDateOrNull(r.expires_at),
  code: r.code as LedgerTransferCode,
  refKind: (r.ref_kind as string | null) ?? null,
  refId: (r.ref_id as string | null) ?? null,
  createdAt: toDate(r.created_at),
});


const withBalance = (a: LedgerAccount): AccountBalance => ({ ...a, ...accountBalance(a) });

type PgError = { code?: string; message: string; constraint?: string };

function pgErrorOf(err: unknown): PgError | null {
  let e: unknown = err;
  for (let i = 0; i < 3 && e; i++) {
    if (typeof e === "object" && e !== null && "code" in e && typeof (e as PgError).code === "string") return e as PgError;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** The ledger's SQL errors as DomainErrors (naming the leg when the message names an account); others unchanged. */
function translate(err: unknown, fieldOfAccount?: (accountId: string) => string): unknown {
  const pg = pgErrorOf(err);
  const accountId = /[0-9a-f]{8}-[0-9a-f-]{27}/.exec(pg?.message ?? "")?.[0];
  const field = accountId && fieldOfAccount ? fieldOfAccount(accountId) : undefined;
  switch (pg?.code) {
    case "TL402":
    case "23514":
      if (pg.code === "TL402" || /limit/.test(pg.constraint ?? "")) {
        return new DomainError("INSUFFICIENT_CREDIT", pg.code === "TL402" ? pg.message : `a ledger account would pass its limit (${pg.constraint})`, field);
      }
      break;
    case "TL404":
      return new DomainError("NOT_FOUND", pg.message, field);
    case "TL409":
      return new DomainError("CONFLICT", pg.message, field);
    case "TL423":
      return new DomainError("PERIOD_CLOSED", pg.message);
    case "22003":
      return new DomainError("INVALID_INPUT", `amount overflows a 64-bit balance: ${pg.message}`, field);
    case "23505":
      return new DomainError("CONFLICT", `a transfer with this id already exists (${pg.constraint})`, "id");
  }
  return err;
}

/** Runs a statement, turning the ledger's SQL errors into DomainErrors. */
async function run(db: DbOrTx, query: SQL, fieldOfAccount?: (accountId: string) => string): Promise<Row[]> {
  try {
    return (await db.execute(query)).rows as Row[];
  } catch (err) {
    throw translate(err, fieldOfAccount);
  }
}

/**
 * Aborts the caller's transaction (so nothing this call wrote can be committed, even
 * if the caller catches the error) and throws `error`.
 */
async function abortWith(tx: Tx, error: unknown): Promise<never> {
  await tx.execute(sql`select tm_ledger_fail('TL409', ${error instanceof Error ? error.message : String(error)})`).catch(() => {});
  throw error;
}

// ── Accounts ────────────────────────────────────────────────────────────────

export type EnsureAccountInput = {
  orgId: string | null;
  kind: LedgerAccountKind;
  currency?: string;
  creditLimitNano?: bigint;
  debitsMustNotExceedCredits?: boolean;
  creditsMustNotExceedDebits?: boolean;
};

/**
 * The account of (organisation or platform, kind, currency), created on first use with the
 * kind's default limit flags. An existing account is returned as it is.
 */
export async function ensureAccount(db: DbOrTx, input: EnsureAccountInput): Promise<LedgerAccount> {
  const scope = accountScope(input.kind);
  if (scope === "org" && !input.orgId) throw new DomainError("INVALID_INPUT", `orgId: a ${input.kind} account belongs to an organisation`, "orgId");
  if (scope === "platform" && input.orgId) throw new DomainError("INVALID_INPUT", `orgId: a ${input.kind} account is the platform's own`, "orgId");
  const flags = { ...defaultLimitFlags(input.kind), ...pickDefined(input) };
  const currency = input.currency ?? "USD";
  const inserted = await run(
    db,
    sql`insert into ledger_accounts (id, org_id, kind, currency, credit_limit_nano, debits_must_not_exceed_credits, credits_must_not_exceed_debits)
        values (${uuidv7()}, ${input.orgId}, ${input.kind}, ${currency}, ${input.creditLimitNano ?? 0n},
                ${flags.debitsMustNotExceedCredits}, ${flags.creditsMustNotExceedDebits})
        on conflict (org_id, kind, currency) do nothing
        returning *`,
  );
  if (inserted[0]) return toAccount(inserted[0]);
  const [existing] = await run(
    db,
    sql`select * from ledger_accounts where org_id is not distinct from ${input.orgId} and kind = ${input.kind} and currency = ${currency}`,
  );
  return toAccount(existing!);
}

function pickDefined(input: EnsureAccountInput) {
  const out: { debitsMustNotExceedCredits?: boolean; creditsMustNotExceedDebits?: boolean } = {};
  if (input.debitsMustNotExceedCredits !== undefined) out.debitsMustNotExceedCredits = input.debitsMustNotExceedCredits;
  if (input.creditsMustNotExceedDebits !== undefined) out.creditsMustNotExceedDebits = input.creditsMustNotExceedDebits;
  return out;
}

/** Sets how far a limited account may go past zero; refused (INSUFFICIENT_CREDIT) below what is already used. */
export async function setCreditLimit(tx: Tx, accountId: string, creditLimitNano: bigint): Promise<LedgerAccount> {
  if (creditLimitNano < 0n) throw new DomainError("INVALID_INPUT", "creditLimitNano: must not be negative", "creditLimitNano");
  const [row] = await run(tx, sql`update ledger_accounts set credit_limit_nano = ${creditLimitNano} where id = ${accountId} returning *`);
  if (!row) throw new DomainError("NOT_FOUND", `ledger account ${accountId} not found`, "accountId");
  return toAccount(row);
}

// ── Postings ────────────────────────────────────────────────────────────────

/**
 * Locks the accounts named in CTE `d(id, dp, cp, dpend, cpend)` in id order, adds the
 * deltas only where the account stays within its limit, and raises unless every account
 * moved. The CHECK constraints on ledger_accounts repeat the limit as a defence.
 */
const MOVE_ACCOUNTS = sql.raw(`
l AS (
  SELECT a.id FROM ledger_accounts a WHERE a.id IN (SELECT id FROM d) ORDER BY a.id FOR NO KEY UPDATE
),
u AS (
  UPDATE ledger_accounts a SET
    debits_posted = a.debits_posted + d.dp,
    credits_posted = a.credits_posted + d.cp,
    debits_pending = a.debits_pending + d.dpend,
    credits_pending = a.credits_pending + d.cpend
  FROM d JOIN l ON l.id = d.id
  WHERE a.id = d.id
    AND (NOT a.debits_must_not_exceed_credits
         OR a.debits_posted + d.dp + a.debits_pending + d.dpend <= a.credits_posted + d.cp + a.credit_limit_nano)
    AND (NOT a.credits_must_not_exceed_debits
         OR a.credits_posted + d.cp + a.credits_pending + d.cpend <= a.debits_posted + d.dp + a.credit_limit_nano)
  RETURNING a.id
),
chk AS (
  SELECT CASE
    WHEN (SELECT count(*) FROM u) = (SELECT count(*) FROM d) THEN true
    WHEN EXISTS (SELECT 1 FROM d WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = d.id))
      THEN tm_ledger_fail('TL404', 'ledger account ' ||
        (SELECT min(d.id::text) FROM d WHERE NOT EXISTS (SELECT 1 FROM ledger_accounts a WHERE a.id = d.id)) || ' not found')
    ELSE tm_ledger_fail('TL402', 'ledger account ' ||
        (SELECT min(d.id::text) FROM d WHERE d.id NOT IN (SELECT id FROM u)) || ' has too little available for this transfer')
  END AS ok
)`);

const transferColumns = (transfers: readonly TransferInput[]) => {
  const col = <T>(f: (t: TransferInput) => T) => pgArray(transfers.map(f) as (string | bigint | Date | null)[]);
  return sql`unnest(
    ${col((t) => t.id)}::uuid[], ${col((t) => t.debitAccountId)}::uuid[], ${col((t) => t.creditAccountId)}::uuid[],
    ${col((t) => t.amountNano)}::int8[], ${col((t) => (t.pending ? "pending" : "single"))}::ledger_transfer_type[],
    ${col((t) => t.pending?.expiresAt ?? null)}::timestamptz[], ${col((t) => t.code)}::ledger_transfer_code[],
    ${col((t) => t.ref?.kind ?? null)}::text[], ${col((t) => t.ref?.id ?? null)}::text[]
  ) AS i(id, debit_account_id, credit_account_id, amount_nano, type, expires_at, code, ref_kind, ref_id)`;
};

/**
 * postTransfers' statement: inserts the transfers whose ids are new (ON CONFLICT skips the
 * others, so even a concurrent duplicate becomes a replay), moves the accounts by what was
 * inserted, and returns the inserted rows.
 */
function postingStatement(transfers: readonly TransferInput[]): SQL {
  return sql`
WITH ins AS (
  INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount_nano, type, expires_at, code, ref_kind, ref_id)
  SELECT * FROM ${transferColumns(transfers)}
  ON CONFLICT (id) DO NOTHING
  RETURNING *
),
pend AS (
  INSERT INTO ledger_pending (pending_id, debit_account_id, credit_account_id, amount_nano, expires_at)
  SELECT id, debit_account_id, credit_account_id, amount_nano, expires_at FROM ins WHERE type = 'pending'
),
d AS (
  SELECT id, sum(dp)::int8 AS dp, sum(cp)::int8 AS cp, sum(dpend)::int8 AS dpend, sum(cpend)::int8 AS cpend FROM (
    SELECT debit_account_id AS id,
           CASE WHEN type = 'pending' THEN 0 ELSE amount_nano END AS dp, 0::int8 AS cp,
           CASE WHEN type = 'pending' THEN amount_nano ELSE 0 END AS dpend, 0::int8 AS cpend
    FROM ins
    UNION ALL
    SELECT credit_account_id, 0, CASE WHEN type = 'pending' THEN 0 ELSE amount_nano END,
           0, CASE WHEN type = 'pending' THEN amount_nano ELSE 0 END
    FROM ins
  ) legs GROUP BY id
),
${MOVE_ACCOUNTS}
SELECT ins.* FROM chk LEFT JOIN ins ON true`;
}

/**
 * The bulk path's statement, for transfers that are all new: a plain INSERT (the primary key
 * refuses the whole statement if any id exists: no per-row probe or speculative insertion),
 * and the account deltas aggregated by the caller (postingDeltas), already in lock order.
 */
function newTransfersStatement(transfers: readonly TransferInput[]): SQL {
  const deltas = postingDeltas(transfers);
  const dcol = (f: (x: AccountDelta) => string | bigint) => pgArray(deltas.map(f));
  const pending = transfers.some((t) => t.pending);
  return sql`
WITH input AS (SELECT * FROM ${transferColumns(transfers)}),
ins AS (
  INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount_nano, type, expires_at, code, ref_kind, ref_id)
  SELECT * FROM input
  RETURNING 1
),
${pending ? sql`pend AS (
  INSERT INTO ledger_pending (pending_id, debit_account_id, credit_account_id, amount_nano, expires_at)
  SELECT id, debit_account_id, credit_account_id, amount_nano, expires_at FROM input WHERE type = 'pending'
),` : sql``}
-- The insert runs before the accounts move (d waits for it), so a used id is reported as one even when a limit would also refuse.
d AS (
  SELECT * FROM unnest(${dcol((x) => x.accountId)}::uuid[], ${dcol((x) => x.debitsPosted)}::int8[], ${dcol((x) => x.creditsPosted)}::int8[],
                       ${dcol((x) => x.debitsPending)}::int8[], ${dcol((x) => x.creditsPending)}::int8[]) AS d(id, dp, cp, dpend, cpend)
  WHERE (SELECT count(*) FROM ins) > 0
),
${MOVE_ACCOUNTS}
SELECT ok FROM chk`;
}

const legFieldOf = (transfers: readonly TransferInput[]) => (accountId: string) => {
  const i = transfers.findIndex((t) => t.debitAccountId.toLowerCase() === accountId);
  if (i >= 0) return `transfers[${i}].debitAccountId`;
  const j = transfers.findIndex((t) => t.creditAccountId.toLowerCase() === accountId);
  return j >= 0 ? `transfers[${j}].creditAccountId` : "transfers";
};

/**
 * Checks the transfers not inserted (replays) against the stored ones; a different request
 * under a used id aborts the transaction. Returns the stored versions by id.
 */
async function checkReplays(tx: Tx, transfers: readonly TransferInput[], replayed: readonly TransferInput[]): Promise<Map<string, Transfer>> {
  const stored = new Map<string, Transfer>();
  if (!replayed.length) return stored;
  const rows = await run(tx, sql`select * from ledger_transfers where id = any(${pgArray(replayed.map((t) => t.id))}::uuid[])`);
  for (const r of rows) stored.set(r.id as string, toTransfer(r));
  for (const t of replayed) {
    const s = stored.get(t.id.toLowerCase());
    const field = s ? mismatchedField(s, t) : "id";
    if (field) {
      const i = transfers.indexOf(t);
      await abortWith(
        tx,
        new DomainError("CONFLICT", `transfer ${t.id} already exists with a different ${field}`, `transfers[${i}].${field}`),
      );
    }
  }
  return stored;
}

/**
 * Posts transfers (single or pending legs) all or nothing, in the caller's transaction.
 * Idempotent per transfer id: a replay with the same fields returns the stored transfer and
 * changes nothing; the same id with different fields throws CONFLICT naming the field.
 * Throws INSUFFICIENT_CREDIT (limit), NOT_FOUND (account) or CONFLICT, having aborted the
 * transaction. Returns the stored transfers in request order.
 */
export async function postTransfers(tx: Tx, transfers: readonly TransferInput[], now = new Date()): Promise<Transfer[]> {
  validateTransfers(transfers, now);
  const rows = await run(tx, postingStatement(transfers), legFieldOf(transfers));
  const inserted = new Map<string, Transfer>();
  for (const r of rows) if (r.id) inserted.set(r.id as string, toTransfer(r));
  const replayed = await checkReplays(tx, transfers, transfers.filter((t) => !inserted.has(t.id.toLowerCase())));
  return transfers.map((t) => (inserted.get(t.id.toLowerCase()) ?? replayed.get(t.id.toLowerCase()))!);
}

/** A transfer id that exists: the transfer's primary key, or a hold's (whichever insert of the statement ran first). */
const isDuplicateId = (err: unknown) => {
  const pg = pgErrorOf(err);
  return pg?.code === "23505" && (pg.constraint === "ledger_transfers_pkey" || pg.constraint === "ledger_pending_pkey");
};

/**
 * The bulk path for settlement: up to 10 000 transfers in one statement. Same guarantees as
 * postTransfers; returns how many were new and how many were identical replays. Written for
 * the common case, where every id is new: one plain INSERT inside a savepoint. If any id
 * exists (a retry, or a concurrent duplicate), the savepoint is rolled back and the posting
 * is redone the way postTransfers does it, which skips and checks the replays.
 */
export async function postTransfersBatch(tx: Tx, transfers: readonly TransferInput[], now = new Date()): Promise<{ inserted: number; replayed: number }> {
  validateTransfers(transfers, now);
  const fieldOf = legFieldOf(transfers);
  try {
    await tx.transaction((sp) => sp.execute(newTransfersStatement(transfers)));
    return { inserted: transfers.length, replayed: 0 };
  } catch (err) {
    // Rolled back to the savepoint; any other failure aborts the caller's transaction, as a failed statement would.
    if (!isDuplicateId(err)) return abortWith(tx, translate(err, fieldOf));
  }
  const rows = await run(tx, postingStatement(transfers), fieldOf);
  const inserted = rows.filter((r) => r.id).length;
  if (inserted < transfers.length) await checkReplays(tx, transfers, transfers);
  return { inserted, replayed: transfers.length - inserted };
}

/** A hold: moves the pending sums of both accounts (limits apply) until posted, voided or expired. */
export async function createPending(
  tx: Tx,
  input: Omit<TransferInput, "pending"> & { expiresAt: Date },
  now = new Date(),
): Promise<Transfer> {
  const { expiresAt, ...rest } = input;
  const [t] = await postTransfers(tx, [{ ...rest, pending: { expiresAt } }], now);
  return t!;
}

type OpenPending = PendingState & { code: LedgerTransferCode; refKind: string | null; refId: string | null };

function resolutionStatement(items: readonly { id: string; pending: OpenPending; resolution: Resolution; ref: TransferRef | null }[]): SQL {
  const col = <T>(f: (x: (typeof items)[number]) => T) => pgArray(items.map(f) as (string | bigint | null)[]);
  const deltas = resolutionDeltas(items.map((x) => ({ ...x.pending, resolution: x.resolution })));
  const dcol = <T>(f: (x: (typeof deltas)[number]) => T) => pgArray(deltas.map(f) as (string | bigint)[]);
  return sql`
WITH r AS (
  SELECT * FROM unnest(
    ${col((x) => x.id)}::uuid[], ${col((x) => x.pending.pendingId)}::uuid[],
    ${col((x) => x.pending.debitAccountId)}::uuid[], ${col((x) => x.pending.creditAccountId)}::uuid[],
    ${col((x) => x.resolution.transferAmountNano)}::int8[], ${col((x) => x.resolution.type)}::ledger_transfer_type[],
    ${col((x) => resolutionStatus(x.resolution.type))}::ledger_pending_status[], ${col((x) => x.pending.code)}::ledger_transfer_code[],
    ${col((x) => x.ref?.kind ?? null)}::text[], ${col((x) => x.ref?.id ?? null)}::text[]
  ) AS r(id, pending_id, debit_account_id, credit_account_id, amount_nano, type, status, code, ref_kind, ref_id)
),
ins AS (
  INSERT INTO ledger_transfers (id, debit_account_id, credit_account_id, amount_nano, type, pending_id, code, ref_kind, ref_id)
  SELECT id, debit_account_id, credit_account_id, amount_nano, type, pending_id, code, ref_kind, ref_id FROM r
  RETURNING *
),
p AS (
  UPDATE ledger_pending lp SET status = r.status, resolved_by = r.id
  FROM r WHERE lp.pending_id = r.pending_id AND lp.status = 'open'
  RETURNING lp.pending_id
),
d AS (
  SELECT * FROM unnest(${dcol((x) => x.accountId)}::uuid[], ${dcol((x) => x.debitsPosted)}::int8[], ${dcol((x) => x.creditsPosted)}::int8[],
                       ${dcol((x) => x.debitsPending)}::int8[], ${dcol((x) => x.creditsPending)}::int8[]) AS d(id, dp, cp, dpend, cpend)
),
${MOVE_ACCOUNTS},
once AS (
  SELECT CASE WHEN (SELECT count(*) FROM p) = (SELECT count(*) FROM r) THEN true
              ELSE tm_ledger_fail('TL409', 'a pending transfer was resolved concurrently') END AS ok
)
SELECT ins.* FROM chk CROSS JOIN once LEFT JOIN ins ON true`;
}

const PENDING_COLUMNS = sql.raw(`p.pending_id, p.debit_account_id, p.credit_account_id, p.amount_nano, p.expires_at, p.status, p.resolved_by,
  t.code, t.ref_kind, t.ref_id`);

const toPending = (r: Row): OpenPending => ({
  pendingId: r.pending_id as string,
  debitAccountId: r.debit_account_id as string,
  creditAccountId: r.credit_account_id as string,
  amountNano: r.amount_nano as bigint,
  expiresAt: toDate(r.expires_at),
  status: r.status as LedgerPendingStatus,
  resolvedBy: (r.resolved_by as string | null) ?? null,
  code: r.code as LedgerTransferCode,
  refKind: (r.ref_kind as string | null) ?? null,
  refId: (r.ref_id as string | null) ?? null,
});

export type ResolveInput = {
  /** Caller-chosen id of the resolving transfer: the idempotency key. */
  id: string;
  pendingId: string;
  /** Post only: how much to post (default all); the rest of the hold is released. */
  amountNano?: bigint;
  /** The source of the resolution (e.g. the usage batch); defaults to the pending transfer's. */
  ref?: TransferRef | null;
};

async function resolvePending(tx: Tx, type: Exclude<ResolutionKind, "expire_pending">, input: ResolveInput, now: Date): Promise<Transfer> {
  if (!isUuid(input.id)) throw new DomainError("INVALID_INPUT", "id: must be a UUID", "id");
  if (!isUuid(input.pendingId)) throw new DomainError("INVALID_INPUT", "pendingId: must be a UUID", "pendingId");
  // The row lock serialises post, void and the sweeper on this hold.
  const [row] = await run(
    tx,
    sql`select ${PENDING_COLUMNS} from ledger_pending p join ledger_transfers t on t.id = p.pending_id
        where p.pending_id = ${input.pendingId} for update of p`,
  );
  if (!row) throw new DomainError("NOT_FOUND", `pending transfer ${input.pendingId} not found`, "pendingId");
  const pending = toPending(row);
  const id = input.id.toLowerCase();
  if (pending.status !== "open" && pending.resolvedBy === id) {
    // A replay of the resolution that happened: same request returns it, anything else names the difference.
    const [stored] = await run(tx, sql`select * from ledger_transfers where id = ${id}`);
    const t = toTransfer(stored!);
    const wanted = type === "post_pending" ? (input.amountNano ?? pending.amountNano) : pending.amountNano;
    const field = t.type !== type ? "type" : t.amountNano !== wanted ? "amountNano" : input.ref !== undefined && (input.ref?.kind ?? null) !== t.refKind ? "ref" : null;
    if (field) throw new DomainError("CONFLICT", `transfer ${id} already resolved ${pending.pendingId} with a different ${field}`, field);
    return t;
  }
  const resolution = decideResolution(pending, type, now, input.amountNano);
  const ref = input.ref !== undefined ? input.ref : pending.refKind ? { kind: pending.refKind, id: pending.refId! } : null;
  const [written] = await run(tx, resolutionStatement([{ id, pending, resolution, ref }]));
  return toTransfer(written!);
}

/** Posts all or part of a pending transfer (the rest is released), exactly once. */
export function postPending(tx: Tx, input: ResolveInput, now = new Date()): Promise<Transfer> {
  return resolvePending(tx, "post_pending", input, now);
}

/** Releases a pending transfer, exactly once. */
export function voidPending(tx: Tx, input: Omit<ResolveInput, "amountNano">, now = new Date()): Promise<Transfer> {
  return resolvePending(tx, "void_pending", input, now);
}

/**
 * Voids many holds in one statement, for settlement, which consumes reservations by voiding
 * their holds and re-holding what remains in the same transaction. Holds that are no longer
 * open, or have expired at `now` (the sweeper's), are skipped rather than failing the batch.
 * Locks the holds in id order; returns the pending ids it voided.
 */
export async function voidPendingBatch(tx: Tx, items: readonly Omit<ResolveInput, "amountNano">[], now = new Date()): Promise<Set<string>> {
  const voided = new Set<string>();
  if (!items.length) return voided;
  for (const [i, it] of items.entries()) {
    if (!isUuid(it.id)) throw new DomainError("INVALID_INPUT", `items[${i}].id: must be a UUID`, `items[${i}].id`);
    if (!isUuid(it.pendingId)) throw new DomainError("INVALID_INPUT", `items[${i}].pendingId: must be a UUID`, `items[${i}].pendingId`);
  }
  const rows = await run(
    tx,
    sql`select ${PENDING_COLUMNS} from ledger_pending p join ledger_transfers t on t.id = p.pending_id
        where p.pending_id = any(${pgArray(items.map((x) => x.pendingId))}::uuid[]) order by p.pending_id for update of p`,
  );
  const open = new Map(rows.map((r) => [r.pending_id as string, toPending(r)]));
  const todo = [];
  for (const it of items) {
    const pending = open.get(it.pendingId.toLowerCase());
    if (!pending || pending.status !== "open" || pending.expiresAt.getTime() <= now.getTime() || voided.has(pending.pendingId)) continue;
    const ref = it.ref !== undefined ? it.ref : pending.refKind ? { kind: pending.refKind, id: pending.refId! } : null;
    todo.push({ id: it.id.toLowerCase(), pending, resolution: decideResolution(pending, "void_pending", now), ref });
    voided.add(pending.pendingId);
  }
  if (todo.length) await run(tx, resolutionStatement(todo));
  return voided;
}

/**
 * The sweeper: releases every hold expired at `now`, each exactly once, in batches of
 * `batchSize` per transaction. Safe to run concurrently (SKIP LOCKED: sweepers and
 * post/void never wait on or repeat each other's holds). Returns how many it expired.
 */
export async function expirePending(db: Db, now = new Date(), batchSize = 500): Promise<number> {
  let total = 0;
  for (;;) {
    const n = await db.transaction(async (tx) => {
      const rows = await run(
        tx,
        sql`select ${PENDING_COLUMNS} from ledger_pending p join ledger_transfers t on t.id = p.pending_id
            where p.status = 'open' and p.expires_at <= ${now}
            order by p.expires_at limit ${batchSize} for update of p skip locked`,
      );
      if (!rows.length) return 0;
      const items = rows.map((r) => {
        const pending = toPending(r);
        return {
          id: uuidv7(),
          pending,
          resolution: decideResolution(pending, "expire_pending", now),
          ref: pending.refKind ? { kind: pending.refKind, id: pending.refId! } : null,
        };
      });
      await run(tx, resolutionStatement(items));
      return rows.length;
    });
    total += n;
    if (n < batchSize) return total;
  }
}

// ── Reads ───────────────────────────────────────────────────────────────────

export async function getBalance(db: DbOrTx, accountId: string): Promise<AccountBalance> {
  if (!isUuid(accountId)) throw new DomainError("INVALID_INPUT", "accountId: must be a UUID", "accountId");
  const [row] = await run(db, sql`select * from ledger_accounts where id = ${accountId}`);
  if (!row) throw new DomainError("NOT_FOUND", `ledger account ${accountId} not found`, "accountId");
  return withBalance(toAccount(row));
}

/** An organisation's accounts with balances (or the platform's own when orgId is null). */
export async function listBalances(db: DbOrTx, orgId: string | null): Promise<AccountBalance[]> {
  const rows = await run(db, sql`select * from ledger_accounts where org_id is not distinct from ${orgId} order by kind, currency`);
  return rows.map((r) => withBalance(toAccount(r)));
}

export type StatementEntry = {
  transferId: string;
  createdAt: Date;
  type: LedgerTransferType;
  code: LedgerTransferCode;
  refKind: string | null;
  refId: string | null;
  pendingId: string | null;
  side: "debit" | "credit";
  amountNano: bigint;
  /** Change of the posted balance, on the account's normal side. */
  postedDeltaNano: bigint;
  /** Change of the net pending balance, on the account's normal side. */
  pendingDeltaNano: bigint;
  /** Running posted balance after this entry. */
  balanceNano: bigint;
  /** Running net pending balance after this entry. */
  pendingNano: bigint;
};

/**
 * An account's transfers oldest first with running balances, `limit` per page; pass the
 * previous page's `nextCursor` (a transfer id) as `after` for the next.
 */
export async function statement(db: DbOrTx, input: { accountId: string; after?: string | null; limit?: number }) {
  const account = await getBalance(db, input.accountId);
  const limit = pageLimit(input.limit, 100, 1000);
  const debitNormal = normalSide(account.kind) === "debit";
  const rows = await run(
    db,
    sql`
WITH e AS (
  SELECT t.id, t.created_at, t.type, t.code, t.ref_kind, t.ref_id, t.pending_id, t.amount_nano,
         (t.debit_account_id = ${account.id}) = ${debitNormal} AS normal,
         t.debit_account_id = ${account.id} AS is_debit,
         CASE WHEN t.type IN ('single', 'post_pending') THEN t.amount_nano ELSE 0 END AS posted,
         CASE t.type WHEN 'pending' THEN t.amount_nano WHEN 'single' THEN 0 ELSE -pt.amount_nano END AS pending
  FROM ledger_transfers t LEFT JOIN ledger_transfers pt ON pt.id = t.pending_id
  WHERE t.debit_account_id = ${account.id} OR t.credit_account_id = ${account.id}
),
s AS (
  SELECT e.*,
         CASE WHEN normal THEN posted ELSE -posted END AS posted_delta,
         CASE WHEN normal THEN pending ELSE -pending END AS pending_delta,
         sum(CASE WHEN normal THEN posted ELSE -posted END) OVER w AS balance,
         sum(CASE WHEN normal THEN pending ELSE -pending END) OVER w AS pending_balance
  FROM e WINDOW w AS (ORDER BY created_at, id ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT id, created_at, type, code, ref_kind, ref_id, pending_id, amount_nano, is_debit,
       posted_delta::int8, pending_delta::int8, balance::int8, pending_balance::int8
FROM s
WHERE ${input.after ?? null}::uuid IS NULL
   OR (created_at, id) > (SELECT created_at, id FROM ledger_transfers WHERE id = ${input.after ?? null}::uuid)
ORDER BY created_at, id
LIMIT ${pageFetchSize(limit)}`,
  );
  const { items: entries, nextCursor } = keysetPage(rows, limit, (r) => r.id as string, (r): StatementEntry => ({
    transferId: r.id as string,
    createdAt: toDate(r.created_at),
    type: r.type as LedgerTransferType,
    code: r.code as LedgerTransferCode,
    refKind: (r.ref_kind as string | null) ?? null,
    refId: (r.ref_id as string | null) ?? null,
    pendingId: (r.pending_id as string | null) ?? null,
    side: r.is_debit ? "debit" : "credit",
    amountNano: r.amount_nano as bigint,
    postedDeltaNano: r.posted_delta as bigint,
    pendingDeltaNano: r.pending_delta as bigint,
    balanceNano: r.balance as bigint,
    pendingNano: r.pending_balance as bigint,
  }));
  return { account, entries, nextCursor };
}

export type TrialBalanceRow = {
  kind: LedgerAccountKind;
  currency: string;
  accounts: number;
  debitsNano: bigint;
  creditsNano: bigint;
  /** Posted balance on the kind's normal side. */
  balanceNano: bigint;
  pendingDebitsNano: bigint;
  pendingCreditsNano: bigint;
};

/**
 * Posted debits and credits by account kind as of `at` (transfers created at or before it),
 * and the holds open at that moment. Computed from transfers alone, so any past date works.
 */
export async function trialBalance(db: DbOrTx, at: Date = new Date()) {
  const rows = await run(
    db,
    sql`
WITH t AS (SELECT * FROM ledger_transfers WHERE created_at <= ${at}),
open_pending AS (
  SELECT * FROM t WHERE type = 'pending' AND NOT EXISTS (SELECT 1 FROM t r WHERE r.pending_id = t.id)
),
legs AS (
  SELECT debit_account_id AS account_id, amount_nano AS d, 0::int8 AS c, 0::int8 AS pd, 0::int8 AS pc FROM t WHERE type IN ('single', 'post_pending')
  UNION ALL SELECT credit_account_id, 0, amount_nano, 0, 0 FROM t WHERE type IN ('single', 'post_pending')
  UNION ALL SELECT debit_account_id, 0, 0, amount_nano, 0 FROM open_pending
  UNION ALL SELECT credit_account_id, 0, 0, 0, amount_nano FROM open_pending
)
SELECT a.kind, a.currency, count(DISTINCT a.id)::int AS accounts,
       sum(legs.d)::int8 AS d, sum(legs.c)::int8 AS c, sum(legs.pd)::int8 AS pd, sum(legs.pc)::int8 AS pc
FROM legs JOIN ledger_accounts a ON a.id = legs.account_id
GROUP BY a.kind, a.currency ORDER BY a.currency, a.kind`,
  );
  const kinds: TrialBalanceRow[] = rows.map((r) => {
    const kind = r.kind as LedgerAccountKind;
    const d = r.d as bigint;
    const c = r.c as bigint;
    return {
      kind,
      currency: r.currency as string,
      accounts: r.accounts as number,
      debitsNano: d,
      creditsNano: c,
      balanceNano: normalSide(kind) === "credit" ? c - d : d - c,
      pendingDebitsNano: r.pd as bigint,
      pendingCreditsNano: r.pc as bigint,
    };
  });
  const currencies = [...new Set(kinds.map((k) => k.currency))];
  const totals = currencies.map((currency) => {
    const of = kinds.filter((k) => k.currency === currency);
    const debitsNano = of.reduce((s, k) => s + k.debitsNano, 0n);
    const creditsNano = of.reduce((s, k) => s + k.creditsNano, 0n);
    return { currency, debitsNano, creditsNano, balanced: debitsNano === creditsNano };
  });
  return { at, kinds, totals };
}

export type Violation = { invariant: string; ref: string; detail: string };

/** Each check is a query returning (ref, detail) rows, one per violation. */
const INVARIANT_QUERIES: [string, string][] = [
  [
    "total debits equal total credits",
    `SELECT currency AS ref, format('posted debits %s ≠ credits %s, or pending debits %s ≠ credits %s',
        sum(debits_posted), sum(credits_posted), sum(debits_pending), sum(credits_pending)) AS detail
     FROM ledger_accounts GROUP BY currency
     HAVING sum(debits_posted) <> sum(credits_posted) OR sum(debits_pending) <> sum(credits_pending)`,
  ],
  [
    "account sums equal the sums of its transfers",
    `WITH legs AS (
       SELECT debit_account_id AS id, CASE WHEN type IN ('single', 'post_pending') THEN amount_nano ELSE 0 END AS dp, 0::int8 AS cp, 0::int8 AS dpe, 0::int8 AS cpe FROM ledger_transfers
       UNION ALL SELECT credit_account_id, 0, CASE WHEN type IN ('single', 'post_pending') THEN amount_nano ELSE 0 END, 0, 0 FROM ledger_transfers
       UNION ALL SELECT t.debit_account_id, 0, 0, t.amount_nano, 0 FROM ledger_transfers t
         WHERE t.type = 'pending' AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
       UNION ALL SELECT t.credit_account_id, 0, 0, 0, t.amount_nano FROM ledger_transfers t
         WHERE t.type = 'pending' AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.pending_id = t.id)
     ), s AS (SELECT id, sum(dp) AS dp, sum(cp) AS cp, sum(dpe) AS dpe, sum(cpe) AS cpe FROM legs GROUP BY id)
     SELECT coalesce(a.id, s.id)::text AS ref,
       CASE WHEN a.id IS NULL THEN 'transfers name an account that does not exist'
            ELSE format('stored debits/credits posted %s/%s pending %s/%s; transfers give %s/%s pending %s/%s',
              a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending,
              coalesce(s.dp, 0), coalesce(s.cp, 0), coalesce(s.dpe, 0), coalesce(s.cpe, 0)) END AS detail
     FROM ledger_accounts a FULL JOIN s ON s.id = a.id
     WHERE a.id IS NULL OR a.debits_posted <> coalesce(s.dp, 0) OR a.credits_posted <> coalesce(s.cp, 0)
        OR a.debits_pending <> coalesce(s.dpe, 0) OR a.credits_pending <> coalesce(s.cpe, 0)`,
  ],
  [
    "pending sums equal the open pending transfers",
    `WITH o AS (
       SELECT debit_account_id AS id, amount_nano AS dpe, 0::int8 AS cpe FROM ledger_pending WHERE status = 'open'
       UNION ALL SELECT credit_account_id, 0, amount_nano FROM ledger_pending WHERE status = 'open'
     ), s AS (SELECT id, sum(dpe) AS dpe, sum(cpe) AS cpe FROM o GROUP BY id)
     SELECT a.id::text AS ref, format('pending debits/credits %s/%s; open holds %s/%s',
       a.debits_pending, a.credits_pending, coalesce(s.dpe, 0), coalesce(s.cpe, 0)) AS detail
     FROM ledger_accounts a LEFT JOIN s ON s.id = a.id
     WHERE a.debits_pending <> coalesce(s.dpe, 0) OR a.credits_pending <> coalesce(s.cpe, 0)`,
  ],
  [
    "every pending transfer has matching hold state",
    `SELECT coalesce(t.id, p.pending_id)::text AS ref,
       CASE WHEN p.pending_id IS NULL THEN 'pending transfer has no ledger_pending row'
            WHEN t.id IS NULL THEN 'ledger_pending row without a pending transfer'
            ELSE 'ledger_pending row differs from its transfer' END AS detail
     FROM (SELECT * FROM ledger_transfers WHERE type = 'pending') t FULL JOIN ledger_pending p ON p.pending_id = t.id
     WHERE p.pending_id IS NULL OR t.id IS NULL OR p.debit_account_id <> t.debit_account_id
        OR p.credit_account_id <> t.credit_account_id OR p.amount_nano <> t.amount_nano OR p.expires_at <> t.expires_at`,
  ],
  [
    "a hold is open exactly when no transfer resolved it",
    `SELECT p.pending_id::text AS ref, format('status %s, resolved_by %s, resolving transfer %s (%s)',
       p.status, coalesce(p.resolved_by::text, '-'), coalesce(r.id::text, '-'), coalesce(r.type::text, '-')) AS detail
     FROM ledger_pending p LEFT JOIN ledger_transfers r ON r.pending_id = p.pending_id
     WHERE (r.id IS NULL) <> (p.status = 'open')
        OR (r.id IS NOT NULL AND (p.resolved_by IS DISTINCT FROM r.id OR p.status::text <>
            CASE r.type WHEN 'post_pending' THEN 'posted' WHEN 'void_pending' THEN 'voided' WHEN 'expire_pending' THEN 'expired' END))`,
  ],
  [
    "a resolution matches its pending transfer",
    `SELECT r.id::text AS ref, format('%s of %s: amount %s of %s', r.type, r.pending_id, r.amount_nano, coalesce(t.amount_nano::text, 'missing')) AS detail
     FROM ledger_transfers r LEFT JOIN ledger_transfers t ON t.id = r.pending_id
     WHERE r.pending_id IS NOT NULL AND (t.id IS NULL OR t.type <> 'pending'
        OR r.debit_account_id <> t.debit_account_id OR r.credit_account_id <> t.credit_account_id
        OR (r.type = 'post_pending' AND r.amount_nano > t.amount_nano)
        OR (r.type <> 'post_pending' AND r.amount_nano <> t.amount_nano))`,
  ],
  [
    "a transfer stays within one currency",
    `SELECT t.id::text AS ref, format('debit account in %s, credit account in %s', d.currency, c.currency) AS detail
     FROM ledger_transfers t JOIN ledger_accounts d ON d.id = t.debit_account_id JOIN ledger_accounts c ON c.id = t.credit_account_id
     WHERE d.currency <> c.currency`,
  ],
  [
    "limited accounts stay within their limit",
    `SELECT id::text AS ref, format('debits %s+%s, credits %s+%s, limit %s', debits_posted, debits_pending, credits_posted, credits_pending, credit_limit_nano) AS detail
     FROM ledger_accounts
     WHERE (debits_must_not_exceed_credits AND debits_posted + debits_pending > credits_posted + credit_limit_nano)
        OR (credits_must_not_exceed_debits AND credits_posted + credits_pending > debits_posted + credit_limit_nano)`,
  ],
];

/**
 * Every violation of the ledger's invariants, each naming its row (account, transfer or
 * currency); empty when the books are sound. Reads one consistent snapshot.
 */
export async function checkInvariants(db: Db): Promise<Violation[]> {
  return db.transaction(
    async (tx) => {
      const found: Violation[] = [];
      for (const [invariant, query] of INVARIANT_QUERIES) {
        for (const r of await run(tx, sql.raw(query))) found.push({ invariant, ref: r.ref as string, detail: r.detail as string });
      }
      return found;
    },
    { isolationLevel: "repeatable read", accessMode: "read only" },
  );
}
