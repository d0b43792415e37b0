import { and, desc, eq, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../db/client";
import { organizations, payouts, users } from "../../db/schema";
import { DomainError } from "../errors";
import { nameUuid } from "../lib/ids";
import { keysetPage, pageFetchSize, pageLimit } from "../lib/paging";
import { olderThan } from "../lib/paging-sql";
import { formatUsd, parseUsd } from "../ledger/money";
import { lockAccounts } from "../ledger/locks";
import { providerAvailableNano } from "../ledger/position";
import { PROVIDER_PAYABLES } from "../ledger/reports";
import { ensureAccount, postTransfers } from "../ledger/service";
import { recordAudit } from "../audit/log";
import type { RecordPayoutInput } from "./inputs";

/** Each provider's payable balance (what the platform owes it) and what it has been paid. */
export async function listPayables(db: DbOrTx) {
  const { rows } = await db.execute<{ org_id: string; org_name: string; payable_nano: bigint; paid_nano: bigint; last_paid_on: string | null }>(
    sql`select a.org_id, o.name as org_name, a.payable_nano,
               coalesce(p.paid, 0)::int8 as paid_nano, p.last_paid_on::text
        from ${PROVIDER_PAYABLES} a join organizations o on o.id = a.org_id
        left join (select org_id, sum(amount_nano) as paid, max(paid_on) as last_paid_on from payouts group by org_id) p on p.org_id = a.org_id
        order by o.name`,
  );
  return rows.map((r) => ({ orgId: r.org_id, orgName: r.org_name, payableNano: r.payable_nano, paidNano: r.paid_nano, lastPaidOn: r.last_paid_on }));
}

type PayoutRow = typeof payouts.$inferSelect;

function sameRequest(stored: PayoutRow, p: { orgId: string; amountNano: bigint; paidOn: string; bankReference: string }): string | null {
  if (stored.orgId !== p.orgId) return "orgId";
  if (stored.amountNano !== p.amountNano) return "amountUsd";
  if (stored.paidOn !== p.paidOn) return "paidOn";
  if (stored.bankReference !== p.bankReference) return "bankReference";
  return null;
}

/**
 * Records money sent to a provider and posts it provider_payable → payouts (code payout,
 * ref ('payout', id)) in one transaction, with its audit entry. Refuses more than the
 * payable balance (the ledger's limit on provider_payable enforces it too). Idempotent by id:
 * the same request again returns the stored payout; a different one under the id is a CONFLICT.
 * `paidOn` may be neither after today (UTC) nor in a closed month: the payable table's
 * "last paid" and the closed books must stay true.
 */
export async function recordPayout(db: Db, { actorUserId, now, ...input }: RecordPayoutInput & { actorUserId: string | null; now?: Date }): Promise<PayoutRow> {
  const amountNano = parseUsd(input.amountUsd, "amountUsd");
  if (amountNano <= 0n) throw new DomainError("INVALID_INPUT", "amountUsd: must be more than zero", "amountUsd");
  const request = { orgId: input.orgId, amountNano, paidOn: input.paidOn, bankReference: input.bankReference };
  const today = (now ?? new Date()).toISOString().slice(0, 10);
  if (input.paidOn > today)
    throw new DomainError("INVALID_INPUT", `paidOn: ${input.paidOn} is in the future; record a payout once the money has left`, "paidOn");
  return db.transaction(async (tx) => {
    const [stored] = await tx.select().from(payouts).where(eq(payouts.id, input.id));
    if (stored) {
      const field = sameRequest(stored, request);
      if (field) throw new DomainError("CONFLICT", `${field}: payout ${input.id} was already recorded with a different ${field}`, field);
      return stored;
    }
    const closed = await tx.execute(sql`select 1 from accounting_periods where month = date_trunc('month', ${input.paidOn}::date)::date`);
    if (closed.rows.length) {
      throw new DomainError("INVALID_INPUT", `paidOn: ${input.paidOn.slice(0, 7)} is closed; date the payout in an open month`, "paidOn");
    }
    const [org] = await tx.select().from(organizations).where(eq(organizations.id, input.orgId));
    if (!org || org.isPlatform) throw new DomainError("NOT_FOUND", "orgId: no such provider", "orgId");
    const payable = await ensureAccount(tx, { orgId: org.id, kind: "provider_payable" });
    const available = providerAvailableNano((await lockAccounts(tx, { accountIds: [payable.id], strength: "update" })).get(payable.id)!);
    if (amountNano > available) {
      throw new DomainError(
        "INVALID_INPUT",
        `amountUsd: ${formatUsd(amountNano)} is more than ${org.name}'s payable balance of ${formatUsd(available)}`,
        "amountUsd",
      );
    }
    const payoutsAccount = await ensureAccount(tx, { orgId: null, kind: "payouts" });
    const transferId = nameUuid("payout", input.id);
    const [row] = await tx
      .insert(payouts)
      .values({ id: input.id, ...request, transferId, createdBy: actorUserId })
      .returning();
    await postTransfers(tx, {
      transfers: [
        { id: transferId, debitAccountId: payable.id, creditAccountId: payoutsAccount.id, amountNano, code: "payout", ref: { kind: "payout", id: input.id } },
      ],
    });
    await recordAudit(tx, {
      actorUserId,
      orgId: org.id,
      action: "payout.record",
      subject: { kind: "payout", id: input.id },
      before: { payableNano: available },
      after: { amountNano, paidOn: input.paidOn, bankReference: input.bankReference, transferId, payableNano: available - amountNano },
    });
    return row!;
  });
}

/** Payouts newest first (one provider's, or all when orgId is null), paged by id. */
export async function listPayouts(db: DbOrTx, p: { orgId: string | null; before?: string | null; limit?: number }) {
  const limit = pageLimit(p.limit, 50, 200);
  const conds = [];
  if (p.orgId) conds.push(eq(payouts.orgId, p.orgId));
  if (p.before) {
    conds.push(olderThan(payouts.createdAt, payouts.id, { before: p.before, atOfBefore: sql`(select created_at from payouts where id = ${p.before}::uuid)` }));
  }
  const found = await db
    .select({
      id: payouts.id,
      orgId: payouts.orgId,
      orgName: organizations.name,
      amountNano: payouts.amountNano,
      paidOn: payouts.paidOn,
      bankReference: payouts.bankReference,
      transferId: payouts.transferId,
      createdAt: payouts.createdAt,
      createdBy: users.email,
    })
    .from(payouts)
    .innerJoin(organizations, eq(organizations.id, payouts.orgId))
    .leftJoin(users, eq(users.id, payouts.createdBy))
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(payouts.createdAt), desc(payouts.id))
    .limit(pageFetchSize(limit));
  const { items: entries, nextCursor } = keysetPage(found, limit, (r) => r.id);
  return { entries, nextCursor };
}
