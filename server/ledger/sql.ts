import { sql, type SQL } from "drizzle-orm";
import type { DbOrTx, Tx } from "../../db/client";
import type { LedgerTransferCode, LedgerTransferType } from "../../db/schema/ledger";
import { DomainError } from "../errors";
import { parseTimestamp as toDate, parseTimestampOrNull as toDateOrNull } from "../lib/timestamps";
import type { Transfer } from "./posting";

/** What every ledger store module shares: running a statement with the ledger's errors translated, row mapping, moving accounts. */

export type Row = Record<string, unknown>;
export { toDate };

export const toTransfer = (r: Row): Transfer => ({
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

type PgError = { code?: string; message: string; constraint?: string };

export function pgErrorOf(err: unknown): PgError | null {
  let e: unknown = err;
  for (let i = 0; i < 3 && e; i++) {
    if (typeof e === "object" && e !== null && "code" in e && typeof (e as PgError).code === "string") return e as PgError;
    e = (e as { cause?: unknown }).cause;
  }
  return null;
}

/** The ledger's SQL errors as DomainErrors (naming the leg when the message names an account); others unchanged. */
export function translate(err: unknown, fieldOfAccount?: (accountId: string) => string): unknown {
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
export async function run(db: DbOrTx, query: SQL, fieldOfAccount?: (accountId: string) => string): Promise<Row[]> {
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
export async function abortWith(tx: Tx, error: unknown): Promise<never> {
  await tx.execute(sql`select tm_ledger_fail('TL409', ${error instanceof Error ? error.message : String(error)})`).catch(() => {});
  throw error;
}

/**
 * Locks the accounts named in CTE `d(id, dp, cp, dpend, cpend)` in id order, adds the
 * deltas only where the account stays within its limit, and raises unless every account
 * moved. The CHECK constraints on ledger_accounts repeat the limit as a defence.
 */
export const MOVE_ACCOUNTS = sql.raw(`
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
