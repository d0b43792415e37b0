import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import type { LedgerAccountKind, LedgerTransferCode } from "../../db/schema/ledger";
import { DomainError } from "../errors";
import { findAccounts } from "../ledger/accounts";
import { accountScope } from "../ledger/posting";
import { orgMovementsByCode } from "../ledger/reports";
import { statement } from "../ledger/service";
import { parseTimestamp } from "../lib/timestamps";
import { buyerMonthly } from "./buyer-statement";
import { parseMonth } from "./period";
import { listPayouts } from "./payouts";
import { usageCostByKeyAndListing } from "./usage-queries";

/**
 * An organisation's own finance (owners and finance members): its accounts' statements,
 * a printable monthly statement, usage cost, payouts received. Always scoped by the
 * caller's organisation id, never by an id from the request.
 */

type Row = Record<string, unknown>;

async function orgAccountId(db: DbOrTx, orgId: string, kind: LedgerAccountKind): Promise<string | null> {
  if (accountScope(kind) !== "org") throw new DomainError("INVALID_INPUT", `kind: ${kind} is not an organisation account`, "kind");
  return (await findAccounts(db, { needs: [{ orgId, kind }] })).get(`${orgId}:${kind}`) ?? null;
}

/** The organisation's account of `kind` with running balance (paged), or null when it has none yet. */
export async function orgStatement(db: DbOrTx, p: { orgId: string; kind: LedgerAccountKind; after?: string | null; limit?: number }) {
  const accountId = await orgAccountId(db, p.orgId, p.kind);
  if (!accountId) return null;
  return statement(db, { accountId, after: p.after ?? null, limit: p.limit ?? 100 });
}

export type MonthlyAccount = {
  accountId: string;
  kind: LedgerAccountKind;
  openingNano: bigint;
  closingNano: bigint;
  /** Movement by code on the account's normal side: increases and decreases. */
  byCode: { code: LedgerTransferCode; increaseNano: bigint; decreaseNano: bigint; count: number }[];
};

/**
 * A month of the organisation's books for its monthly statement: each account's opening
 * and closing posted balance with the movements between by code (for finance), the buyer's
 * lines (./buyer-statement.ts), the top-ups paid, usage cost by key and listing, and payouts received.
 */
export async function monthlyStatement(db: DbOrTx, p: { orgId: string; month: string }) {
  const month = parseMonth(p.month);
  const movements = await orgMovementsByCode(db, { orgId: p.orgId, from: month.startsAt, to: month.endsAt });
  const accounts = new Map<string, MonthlyAccount>();
  for (const r of movements) {
    const kind = r.kind as LedgerAccountKind;
    let a = accounts.get(r.id as string);
    if (!a) accounts.set(r.id as string, (a = { accountId: r.id as string, kind, openingNano: 0n, closingNano: 0n, byCode: [] }));
    a.openingNano += r.before as bigint;
    a.closingNano += (r.before as bigint) + (r.inc as bigint) - (r.dec as bigint);
    if ((r.n as number) > 0)
      a.byCode.push({ code: r.code as LedgerTransferCode, increaseNano: r.inc as bigint, decreaseNano: r.dec as bigint, count: r.n as number });
  }
  const { rows: topups } = await db.execute<Row>(
    sql`select id, amount_cents, receipt_number, paid_at, refunded_cents from topups
        where org_id = ${p.orgId} and status = 'paid' and paid_at >= ${month.startsAt} and paid_at < ${month.endsAt} order by paid_at`,
  );
  const usage = await usageCostByKeyAndListing(db, { orgId: p.orgId, from: month.startsAt, to: month.endsAt });
  const payouts = (await listPayouts(db, { orgId: p.orgId, limit: 200 })).entries.filter(
    (x) => x.paidOn >= `${month.month}-01` && x.paidOn < month.endsAt.toISOString().slice(0, 10),
  );
  const isBuyer = [...accounts.values()].some((a) => a.kind === "buyer_credits" || a.kind === "buyer_receivable");
  return {
    month: month.month,
    startsAt: month.startsAt,
    endsAt: month.endsAt,
    accounts: [...accounts.values()],
    /** The buyer's statement in their own lines (null for an organisation that never bought). */
    buyer: isBuyer ? await buyerMonthly(db, { orgId: p.orgId, month }) : null,
    topups: topups.map((t) => ({
      id: t.id as string,
      amountCents: t.amount_cents as number,
      refundedCents: t.refunded_cents as number,
      receiptNumber: (t.receipt_number as number | null) ?? null,
      paidAt: parseTimestamp(t.paid_at),
    })),
    usage,
    payouts,
  };
}
