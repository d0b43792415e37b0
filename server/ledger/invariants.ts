import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { run } from "./sql";

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
