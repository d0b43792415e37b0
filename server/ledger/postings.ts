import { sql, type SQL } from "drizzle-orm";
import type { Tx } from "../../db/client";
import { pgArray } from "../lib/pg-array";
import { DomainError } from "../errors";
import { mismatchedField, postingDeltas, validateTransfers, type AccountDelta, type Transfer, type TransferInput } from "./posting";
import { abortWith, MOVE_ACCOUNTS, pgErrorOf, run, toTransfer, translate } from "./sql";

/**
 * The ledger's postings. Writers take the caller's transaction (`Tx`): a domain posts its
 * transfers in the same transaction as its own rows. Each posting is one SQL statement
 * that inserts the transfers, locks the accounts in id order, moves their balances with
 * one aggregated conditional UPDATE, and raises (aborting the caller's transaction) if
 * any account would pass its limit; so a posting is never half-applied and no
 * interleaving of transactions can overdraw an account.
 */

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
${
  pending
    ? sql`pend AS (
  INSERT INTO ledger_pending (pending_id, debit_account_id, credit_account_id, amount_nano, expires_at)
  SELECT id, debit_account_id, credit_account_id, amount_nano, expires_at FROM input WHERE type = 'pending'
),`
    : sql``
}
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
      await abortWith(tx, new DomainError("CONFLICT", `transfer ${t.id} already exists with a different ${field}`, `transfers[${i}].${field}`));
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
export async function postTransfers(tx: Tx, p: { transfers: readonly TransferInput[]; now?: Date }): Promise<Transfer[]> {
  const { transfers, now = new Date() } = p;
  validateTransfers(transfers, now);
  const rows = await run(tx, postingStatement(transfers), legFieldOf(transfers));
  const inserted = new Map<string, Transfer>();
  for (const r of rows) if (r.id) inserted.set(r.id as string, toTransfer(r));
  const replayed = await checkReplays(
    tx,
    transfers,
    transfers.filter((t) => !inserted.has(t.id.toLowerCase())),
  );
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
export async function postTransfersBatch(tx: Tx, p: { transfers: readonly TransferInput[]; now?: Date }): Promise<{ inserted: number; replayed: number }> {
  const { transfers, now = new Date() } = p;
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
export async function createPending(tx: Tx, p: Omit<TransferInput, "pending"> & { expiresAt: Date; now?: Date }): Promise<Transfer> {
  const { expiresAt, now, ...rest } = p;
  const [t] = await postTransfers(tx, { transfers: [{ ...rest, pending: { expiresAt } }], now });
  return t!;
}
