import { sql, type SQL } from "drizzle-orm";
import type { DbOrTx, Tx } from "../../db/client";
import type { LedgerAccountKind } from "../../db/schema/ledger";
import { DomainError } from "../errors";
import { isUuid, uuidv7 } from "../lib/ids";
import { pgArray } from "../lib/pg-array";
import { accountBalance, accountScope, defaultLimitFlags, type AccountSums } from "./posting";
import { run, type Row } from "./sql";

/** Ledger accounts: created on first use, read with their balances; never deleted. */

export type LedgerAccount = AccountSums & { id: string; orgId: string | null; currency: string };

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

const withBalance = (a: LedgerAccount): AccountBalance => ({ ...a, ...accountBalance(a) });

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
export async function setCreditLimit(tx: Tx, p: { accountId: string; creditLimitNano: bigint }): Promise<LedgerAccount> {
  const { accountId, creditLimitNano } = p;
  if (creditLimitNano < 0n) throw new DomainError("INVALID_INPUT", "creditLimitNano: must not be negative", "creditLimitNano");
  const [row] = await run(tx, sql`update ledger_accounts set credit_limit_nano = ${creditLimitNano} where id = ${accountId} returning *`);
  if (!row) throw new DomainError("NOT_FOUND", `ledger account ${accountId} not found`, "accountId");
  return toAccount(row);
}

/** One account with its balance; NOT_FOUND when there is none. */
export async function getBalance(db: DbOrTx, p: { accountId: string }): Promise<AccountBalance> {
  const { accountId } = p;
  if (!isUuid(accountId)) throw new DomainError("INVALID_INPUT", "accountId: must be a UUID", "accountId");
  const [row] = await run(db, sql`select * from ledger_accounts where id = ${accountId}`);
  if (!row) throw new DomainError("NOT_FOUND", `ledger account ${accountId} not found`, "accountId");
  return withBalance(toAccount(row));
}

/** An organisation's accounts with balances (or the platform's own when orgId is null). */
export async function listBalances(db: DbOrTx, p: { orgId: string | null }): Promise<AccountBalance[]> {
  const rows = await run(db, sql`select * from ledger_accounts where org_id is not distinct from ${p.orgId} order by kind, currency`);
  return rows.map((r) => withBalance(toAccount(r)));
}

/** The USD accounts that exist among (organisation or platform, kind) pairs: "org|kind" → id (org "platform" for null). */
export async function findAccounts(db: DbOrTx, p: { needs: readonly { orgId: string | null; kind: LedgerAccountKind }[] }): Promise<Map<string, string>> {
  const { needs } = p;
  if (!needs.length) return new Map();
  const { rows } = await db.execute<{ id: string; org_id: string | null; kind: LedgerAccountKind }>(sql`
    select a.id, a.org_id, a.kind from ledger_accounts a
    join unnest(${pgArray(needs.map((m) => m.orgId))}::uuid[], ${pgArray(needs.map((m) => m.kind))}::ledger_account_kind[]) as n(org_id, kind)
      on a.org_id is not distinct from n.org_id and a.kind = n.kind and a.currency = 'USD'`);
  return new Map(rows.map((r) => [`${r.org_id ?? "platform"}:${r.kind}`, r.id]));
}

/**
 * providerAvailableNano (./position.ts) in SQL, over the provider_payable account aliased
 * `alias`, for queries that list or filter providers by what they may be paid.
 */
export const providerAvailableSql = (alias: string): SQL => sql.raw(`(${alias}.credits_posted - ${alias}.debits_posted - ${alias}.debits_pending)`);
