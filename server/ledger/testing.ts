import type { Db } from "../../db/client";
import { uuidv7 } from "../lib/ids";
import type { SessionUser } from "../api/trpc";
import { makeOrg, makeUser } from "../testing/fixtures";
import { ensureAccount, listBalances, type LedgerAccount } from "./accounts";
import { postTransfers } from "./postings";

/** Test fixture: an organisation with a buyer_credits account, and the platform's clearing and holds accounts. */
export async function ledgerFixture(db: Db, opts: { owner?: SessionUser } = {}) {
  const owner = opts.owner ?? (await makeUser(db, "ledger-owner"));
  const org = await makeOrg(db, owner);
  const [buyer, clearing, holds, revenue] = await db.transaction(async (tx) => [
    await ensureAccount(tx, { orgId: org.id, kind: "buyer_credits" }),
    await ensureAccount(tx, { orgId: null, kind: "payments_clearing" }),
    await ensureAccount(tx, { orgId: null, kind: "usage_holds" }),
    await ensureAccount(tx, { orgId: null, kind: "platform_revenue" }),
  ]);
  return { owner, org, buyer: buyer!, clearing: clearing!, holds: holds!, revenue: revenue! };
}

/** Tops up `account` from payments clearing (a paid top-up). */
export async function topUp(db: Db, account: LedgerAccount, clearing: LedgerAccount, amountNano: bigint) {
  return db.transaction((tx) =>
    postTransfers(tx, { transfers: [{ id: uuidv7(), debitAccountId: clearing.id, creditAccountId: account.id, amountNano, code: "topup" }] }),
  );
}

/** The ledger's tables, for tests that digest what a transaction wrote. */
export const LEDGER_TABLES = ["ledger_transfers", "ledger_pending", "ledger_accounts"] as const;

/** Test queries' view of the holds (raw SQL to compose): each hold's id and status. */
export const HOLDS_SQL = "(select pending_id as hold_id, status from ledger_pending)";

/** Test queries' view of the transfers (raw SQL to compose): each with its debit and credit accounts' kind and organisation. */
export const TRANSFER_LEGS_SQL = `(select t.*, d.kind as debit_kind, d.org_id as debit_org_id, c.kind as credit_kind, c.org_id as credit_org_id
  from ledger_transfers t join ledger_accounts d on d.id = t.debit_account_id join ledger_accounts c on c.id = t.credit_account_id)`;

/** An organisation's accounts by kind (or the platform's for null), with their raw sums. */
export async function accountSums(db: Db, orgId: string | null) {
  const accounts = await listBalances(db, { orgId });
  return new Map(
    accounts.map((a) => [
      a.kind as string,
      {
        kind: a.kind as string,
        debits_posted: a.debitsPosted,
        credits_posted: a.creditsPosted,
        debits_pending: a.debitsPending,
        credits_pending: a.creditsPending,
      },
    ]),
  );
}
