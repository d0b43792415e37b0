import type { Db } from "../../db/client";
import { uuidv7 } from "../lib/ids";
import type { SessionUser } from "../api/trpc";
import { makeOrg, makeUser } from "../testing/fixtures";
import { ensureAccount, type LedgerAccount } from "./accounts";
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
    postTransfers(tx, [{ id: uuidv7(), debitAccountId: clearing.id, creditAccountId: account.id, amountNano, code: "topup" }]),
  );
}
