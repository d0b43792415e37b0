import { sql, type SQL } from "drizzle-orm";
import type { Db, Tx } from "../../db/client";
import type { LedgerPendingStatus, LedgerTransferCode } from "../../db/schema/ledger";
import { DomainError } from "../errors";
import { isUuid, uuidv7 } from "../lib/ids";
import { pgArray } from "../lib/pg-array";
import {
  decideResolution,
  resolutionDeltas,
  resolutionStatus,
  type PendingState,
  type Resolution,
  type ResolutionKind,
  type Transfer,
  type TransferRef,
} from "./posting";
import { MOVE_ACCOUNTS, run, toDate, toTransfer, type Row } from "./sql";

/**
 * Holds (pending transfers) and their resolution: post all or part, void, or expire, each
 * exactly once. A hold's row in ledger_pending is locked while it is resolved, so post,
 * void and the sweeper never resolve one hold twice.
 */

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
    const field =
      t.type !== type ? "type" : t.amountNano !== wanted ? "amountNano" : input.ref !== undefined && (input.ref?.kind ?? null) !== t.refKind ? "ref" : null;
    if (field) throw new DomainError("CONFLICT", `transfer ${id} already resolved ${pending.pendingId} with a different ${field}`, field);
    return t;
  }
  const resolution = decideResolution(pending, type, now, input.amountNano);
  const ref = input.ref !== undefined ? input.ref : pending.refKind ? { kind: pending.refKind, id: pending.refId! } : null;
  const [written] = await run(tx, resolutionStatement([{ id, pending, resolution, ref }]));
  return toTransfer(written!);
}

/** Posts all or part of a pending transfer (the rest is released), exactly once. */
export function postPending(tx: Tx, p: ResolveInput & { now?: Date }): Promise<Transfer> {
  const { now = new Date(), ...input } = p;
  return resolvePending(tx, "post_pending", input, now);
}

/** Releases a pending transfer, exactly once. */
export function voidPending(tx: Tx, p: Omit<ResolveInput, "amountNano"> & { now?: Date }): Promise<Transfer> {
  const { now = new Date(), ...input } = p;
  return resolvePending(tx, "void_pending", input, now);
}

/**
 * Voids many holds in one statement, for settlement, which consumes reservations by voiding
 * their holds and re-holding what remains in the same transaction. Holds that are no longer
 * open, or have expired at `now` (the sweeper's), are skipped rather than failing the batch.
 * Locks the holds in id order; returns the pending ids it voided.
 */
export async function voidPendingBatch(tx: Tx, p: { items: readonly Omit<ResolveInput, "amountNano">[]; now?: Date }): Promise<Set<string>> {
  const { items, now = new Date() } = p;
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
export async function expirePending(db: Db, p: { now?: Date; batchSize?: number } = {}): Promise<number> {
  const { now = new Date(), batchSize = 500 } = p;
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

// Domains that keep a hold's id on their own rows (reservations) ask about the hold through
// these fragments. Constant text for a constant argument, so they fit named prepared statements.

/** True when the hold whose id is in column `holdId` (e.g. "r.hold_transfer_id") is open. */
export const holdIsOpen = (holdId: string): SQL => sql.raw(`EXISTS (SELECT 1 FROM ledger_pending lp WHERE lp.pending_id = ${holdId} AND lp.status = 'open')`);

/**
 * A query of (pending_id, status) for the holds whose ids `holdIds` (a subquery) returns,
 * locked in id order, the order voidPendingBatch takes them: a caller that locks its own
 * rows first and then their holds in one statement keeps the lock order of every writer.
 */
export const lockHolds = (holdIds: string): SQL =>
  sql.raw(`SELECT pending_id, status FROM ledger_pending WHERE pending_id IN (${holdIds}) ORDER BY pending_id FOR UPDATE`);
