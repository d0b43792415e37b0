import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import type { LedgerAccountKind, LedgerTransferCode, LedgerTransferType } from "../../db/schema/ledger";
import { keysetPage, pageFetchSize, pageLimit } from "../lib/paging";
import { getBalance } from "./accounts";
import { normalSide } from "./posting";
import { run, toDate } from "./sql";

/** Reads over the ledger's history: an account's statement and the trial balance at any moment. */

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
  const account = await getBalance(db, { accountId: input.accountId });
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
  const { items: entries, nextCursor } = keysetPage(
    rows,
    limit,
    (r) => r.id as string,
    (r): StatementEntry => ({
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
    }),
  );
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
export async function trialBalance(db: DbOrTx, p: { at?: Date } = {}) {
  const at = p.at ?? new Date();
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
