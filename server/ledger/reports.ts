import { sql, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { ledgerAccountKind, type LedgerAccountKind } from "../../db/schema/ledger";
import { keysetPage, pageFetchSize } from "../lib/paging";
import { likePattern } from "../lib/pg-array";
import { providerAvailableSql, toAccount } from "./accounts";
import { accountBalance, normalSide } from "./posting";

/**
 * Read-only ledger queries for finance, payouts and dashboards: everything they need of
 * ledger_accounts and ledger_pending, as whole queries or as SQL fragments their own
 * queries compose, so that no module outside server/ledger/ reads those rows itself.
 * Writers lock accounts through ./locks.ts.
 */

type Row = Record<string, unknown>;
const rows = async (db: DbOrTx, q: SQL) => (await db.execute(q)).rows as Row[];

/** The four sums of one account, as bigint whatever the driver handed back. */
export type AccountSumsRow = {
  id: string;
  kind: LedgerAccountKind;
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
};

/** A kind as an SQL literal (kinds are a closed enum, so the statement text stays the same for every caller). */
const kindLiteral = (k: LedgerAccountKind) => `'${ledgerAccountKind.enumValues.includes(k) ? k : "invalid"}'`;

const toSums = (r: Row): AccountSumsRow => ({
  id: r.id as string,
  kind: r.kind as LedgerAccountKind,
  debitsPosted: BigInt(r.debits_posted as bigint),
  creditsPosted: BigInt(r.credits_posted as bigint),
  debitsPending: BigInt(r.debits_pending as bigint),
  creditsPending: BigInt(r.credits_pending as bigint),
});

/**
 * Every provider's payable account as a subquery finance composes: (org_id, payable_nano),
 * payable_nano being providerAvailableNano (./position.ts).
 */
export const PROVIDER_PAYABLES: SQL = sql`(select a.org_id, (${providerAvailableSql("a")})::int8 as payable_nano from ledger_accounts a where a.kind = 'provider_payable')`;

/** The organisation's accounts of the given kinds (any currency), with their sums; none when it has none yet. */
export async function orgAccountSums(db: DbOrTx, p: { orgId: string; kinds: readonly LedgerAccountKind[] }): Promise<AccountSumsRow[]> {
  const found = await rows(
    db,
    sql`select id, kind, debits_posted, credits_posted, debits_pending, credits_pending from ledger_accounts
        where org_id = ${p.orgId}::uuid and kind = any(${sql.param([...p.kinds])}::ledger_account_kind[])`,
  );
  return found.map(toSums);
}

/** The ids of the organisation's accounts of the given kinds, as a subquery (`x in ${…}`). */
export function orgAccountIdsSql(p: { orgId: string; kinds: readonly LedgerAccountKind[] }): SQL {
  return sql`(select id from ledger_accounts where org_id = ${p.orgId}::uuid and kind in (${sql.raw(p.kinds.map(kindLiteral).join(", "))}))`;
}

/** Whether an account belongs to the organisation (ids of other organisations' accounts answer false, like missing ones). */
export async function accountBelongsTo(db: DbOrTx, p: { accountId: string; orgId: string }): Promise<boolean> {
  return (await rows(db, sql`select 1 from ledger_accounts where id = ${p.accountId}::uuid and org_id = ${p.orgId}::uuid`)).length > 0;
}

/** An account's kind, or null when there is no such account. */
export async function accountKind(db: DbOrTx, p: { accountId: string }): Promise<LedgerAccountKind | null> {
  const [account] = await rows(db, sql`select id, kind from ledger_accounts where id = ${p.accountId}::uuid`);
  return account ? (account.kind as LedgerAccountKind) : null;
}

/** Posted debits and credits summed over the whole ledger (equal while the books balance). */
export async function postedTotals(db: DbOrTx): Promise<{ debitsNano: bigint; creditsNano: bigint }> {
  const [totals] = await rows(db, sql`select coalesce(sum(debits_posted), 0)::int8 as d, coalesce(sum(credits_posted), 0)::int8 as c from ledger_accounts`);
  return { debitsNano: totals!.d as bigint, creditsNano: totals!.c as bigint };
}

/** Each account's pending sums beside what its open pending transfers add up to. */
export async function pendingByAccount(db: DbOrTx) {
  const found = await rows(
    db,
    sql`with o as (
          select debit_account_id as id, amount_nano as dpe, 0::int8 as cpe from ledger_pending where status = 'open'
          union all select credit_account_id, 0, amount_nano from ledger_pending where status = 'open'
        ), s as (select id, sum(dpe)::int8 as dpe, sum(cpe)::int8 as cpe from o group by id)
        select a.id, a.kind, a.org_id, a.debits_pending, a.credits_pending, coalesce(s.dpe, 0)::int8 as dpe, coalesce(s.cpe, 0)::int8 as cpe
        from ledger_accounts a left join s on s.id = a.id`,
  );
  return found.map((r) => ({
    id: r.id as string,
    kind: r.kind as LedgerAccountKind,
    orgId: (r.org_id as string | null) ?? null,
    debitsPending: r.debits_pending as bigint,
    creditsPending: r.credits_pending as bigint,
    openDebitsNano: r.dpe as bigint,
    openCreditsNano: r.cpe as bigint,
  }));
}

/** Joins the ledger account aliased `alias` whose id is `accountId` (a column of the query). */
export const joinAccount = (alias: string, accountId: string, how: "join" | "left join" = "join"): SQL =>
  sql.raw(`${how} ledger_accounts ${alias} on ${alias}.id = ${accountId}`);

/** Joins `a`, the platform's own account of `kind`, to each transfer `t` that moves it. */
export const joinPlatformAccount = (kind: LedgerAccountKind): SQL =>
  sql.raw(`join ledger_accounts a on a.kind = ${kindLiteral(kind)} and a.org_id is null and (a.id = t.debit_account_id or a.id = t.credit_account_id)`);

/** Joins `p`, the open ledger hold whose pending id is `pendingId` (a column of the query). */
export const joinOpenHold = (pendingId: string): SQL => sql.raw(`join ledger_pending p on p.pending_id = ${pendingId} and p.status = 'open'`);

/**
 * The journal's FROM: transfers `t` with their debit account `d` and credit account `c`
 * and each side's organisation (`od`, `oc`), selected as t.*, d_kind, d_org, d_org_name,
 * c_kind, c_org, c_org_name.
 */
export const TRANSFERS_WITH_SIDES: SQL =
  sql.raw(`t.*, d.kind as d_kind, d.org_id as d_org, od.name as d_org_name, c.kind as c_kind, c.org_id as c_org, oc.name as c_org_name
  from ledger_transfers t
  join ledger_accounts d on d.id = t.debit_account_id left join organizations od on od.id = d.org_id
  join ledger_accounts c on c.id = t.credit_account_id left join organizations oc on oc.id = c.org_id`);

const DEBIT_NORMAL = sql.param(ledgerAccountKind.enumValues.filter((k) => normalSide(k) === "debit"));

/**
 * The organisation's posted movements per account and code before `to`: on the account's
 * normal side, the balance before `from` (`before`), increases and decreases from `from`
 * on, and how many transfers moved it from `from` on.
 */
export async function orgMovementsByCode(db: DbOrTx, p: { orgId: string; from: Date; to: Date }) {
  return rows(
    db,
    sql`
    select a.id, a.kind, t.code,
           sum(case when t.created_at < ${p.from} then (case when (t.debit_account_id = a.id) = (a.kind = any(${DEBIT_NORMAL}::ledger_account_kind[])) then t.amount_nano else -t.amount_nano end) else 0 end)::int8 as before,
           sum(case when t.created_at >= ${p.from} and (t.debit_account_id = a.id) = (a.kind = any(${DEBIT_NORMAL}::ledger_account_kind[])) then t.amount_nano else 0 end)::int8 as inc,
           sum(case when t.created_at >= ${p.from} and (t.debit_account_id = a.id) <> (a.kind = any(${DEBIT_NORMAL}::ledger_account_kind[])) then t.amount_nano else 0 end)::int8 as dec,
           count(*) filter (where t.created_at >= ${p.from})::int as n
    from ledger_accounts a join ledger_transfers t on (t.debit_account_id = a.id or t.credit_account_id = a.id)
    where a.org_id = ${p.orgId} and t.type in ('single', 'post_pending') and t.created_at < ${p.to}
    group by a.id, a.kind, t.code order by a.kind, t.code`,
  );
}

export type AccountRow = {
  id: string;
  orgId: string | null;
  orgName: string | null;
  kind: LedgerAccountKind;
  currency: string;
  debitsPosted: bigint;
  creditsPosted: bigint;
  postedNano: bigint;
  pendingNano: bigint;
  availableNano: bigint;
};

export type AccountFilter = { kind?: LedgerAccountKind | null; orgId?: string | null; search?: string | null };

/**
 * Ledger accounts with their organisation and balances, platform accounts first, then by
 * organisation name and kind; `limit` per page, the next page `after` the previous page's
 * `nextCursor` (an account id). `search` matches organisation names.
 */
export async function listAccounts(
  db: DbOrTx,
  p: AccountFilter & { after?: string | null; limit?: number } = {},
): Promise<{ accounts: AccountRow[]; nextCursor: string | null }> {
  const limit = p.limit ?? 100;
  const search = p.search?.trim() ? likePattern(p.search.trim()) : null;
  const found = await rows(
    db,
    sql`select a.*, o.name as org_name, coalesce(o.name, '') as sort_name from ledger_accounts a left join organizations o on o.id = a.org_id
        where (${p.kind ?? null}::ledger_account_kind is null or a.kind = ${p.kind ?? null}::ledger_account_kind)
          and (${p.orgId ?? null}::uuid is null or a.org_id = ${p.orgId ?? null}::uuid)
          and (${search}::text is null or o.name ilike ${search}::text)
          and (${p.after ?? null}::uuid is null or (coalesce(o.name, ''), a.kind, a.id) > (
                select coalesce(co.name, ''), c.kind, c.id from ledger_accounts c left join organizations co on co.id = c.org_id where c.id = ${p.after ?? null}::uuid))
        order by sort_name, a.kind, a.id
        limit ${pageFetchSize(limit)}`,
  );
  const page = keysetPage(
    found,
    limit,
    (r) => r.id as string,
    (r): AccountRow => {
      const a = toAccount(r);
      return {
        id: a.id,
        orgId: a.orgId,
        orgName: (r.org_name as string | null) ?? null,
        kind: a.kind,
        currency: a.currency,
        debitsPosted: a.debitsPosted,
        creditsPosted: a.creditsPosted,
        ...accountBalance(a),
      };
    },
  );
  return { accounts: page.items, nextCursor: page.nextCursor };
}
