import { desc, sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { Db, DbOrTx } from "../../db/client";
import { accountingPeriods } from "../../db/schema";
import { DomainError } from "../errors";
import { recordAudit } from "../audit/log";
import { canClose, parseMonth } from "./period";
import { runReconciliation, type Report } from "./reconcile";

export function listClosedPeriods(db: DbOrTx) {
  return db
    .select({ month: accountingPeriods.month, closedAt: accountingPeriods.closedAt, closedBy: accountingPeriods.closedBy })
    .from(accountingPeriods)
    .orderBy(desc(accountingPeriods.month));
}

/** Reports as JSON (figures as decimal strings) for the period row and the audit log. */
const reportsJson = (reports: Report[]) => JSON.parse(JSON.stringify(reports, (_k, v) => (typeof v === "bigint" ? v.toString() : v))) as unknown;

export type CloseResult = { month: string; closed: boolean; reports: Report[] };

/**
 * Closes a month that has ended: runs every reconciliation for it and records the close
 * only when all pass; otherwise nothing is written and FAILED_PRECONDITION-like CONFLICT
 * names the failing reports. While it runs, new postings wait (a SHARE lock on
 * ledger_transfers), so the reports see the month's final state and no transfer can slip
 * into the month between the check and the close; afterwards the database refuses any.
 */
export async function closePeriod(db: Db, p: { month: string; userId: string | null; stripe?: Stripe | null; now?: Date }): Promise<CloseResult> {
  const month = parseMonth(p.month);
  if (!canClose(month, p.now ?? new Date())) {
    throw new DomainError("INVALID_INPUT", `month: ${month.month} has not ended yet; a month closes once it is over`, "month");
  }
  return db.transaction(async (tx) => {
    const [existing] = (await tx.execute(sql`select 1 from accounting_periods where month = ${`${month.month}-01`}::date`)).rows;
    if (existing) throw new DomainError("CONFLICT", `month: ${month.month} is already closed`, "month");
    await tx.execute(sql`lock table ledger_transfers in share mode`);
    const reports = await runReconciliation(db, { from: month.startsAt, to: month.endsAt, stripe: p.stripe ?? null });
    const failing = reports.filter((r) => r.status === "fail");
    if (failing.length) {
      throw new DomainError(
        "CONFLICT",
        `month: ${month.month} cannot close while reconciliation fails: ${failing.map((r) => `${r.title} (${r.differences.length} difference${r.differences.length === 1 ? "" : "s"})`).join(", ")}`,
        "month",
      );
    }
    await tx.insert(accountingPeriods).values({
      month: `${month.month}-01`,
      startsAt: month.startsAt,
      endsAt: month.endsAt,
      closedBy: p.userId,
      reports: reportsJson(reports),
    });
    await recordAudit(tx, {
      actorUserId: p.userId,
      orgId: null,
      action: "period.close",
      subject: { kind: "accounting_period", id: month.month },
      after: { month: month.month, reports: reports.map((r) => ({ key: r.key, status: r.status })) },
    });
    return { month: month.month, closed: true, reports };
  });
}
