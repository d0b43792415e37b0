import { and, desc, eq, sql, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { auditLog, organizations, users } from "../../db/schema";
import { keysetPage, pageFetchSize, pageLimit } from "../lib/paging";
import { olderThan } from "../lib/paging-sql";

export const auditActions = [
  "org.create",
  "member.invite",
  "member.role",
  "member.remove",
  "listing.status",
  "price.change",
  "price.cancel",
  "key.create",
  "key.update",
  "key.revoke",
  "key.rotate",
  "payout.record",
  "payout.connect",
  "period.close",
] as const;
export type AuditAction = (typeof auditActions)[number];

export type AuditEntry = {
  actorUserId: string | null;
  orgId: string | null;
  action: AuditAction;
  subject: { kind: string; id: string };
  before?: unknown;
  after?: unknown;
};

/** JSON for jsonb: bigints (money) as decimal strings, dates as ISO text. */
function toJson(v: unknown): unknown {
  if (v === undefined) return null;
  return JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? x.toString() : x)));
}

/**
 * Records a sensitive action in the caller's transaction, so the record exists exactly
 * when the change does.
 */
export async function recordAudit(tx: DbOrTx, e: AuditEntry): Promise<void> {
  await tx.insert(auditLog).values({
    actorUserId: e.actorUserId,
    orgId: e.orgId,
    action: e.action,
    subjectKind: e.subject.kind,
    subjectId: e.subject.id,
    before: toJson(e.before),
    after: toJson(e.after),
  });
}

/**
 * The audit log newest first, `limit` per page (pass the last row's id as `before` for
 * the next). `orgId` limits it to one organisation; null reads all (platform finance).
 */
export async function listAudit(db: DbOrTx, p: { orgId: string | null; action?: AuditAction | null; before?: string | null; limit?: number }) {
  const limit = pageLimit(p.limit, 50, 200);
  const conds: SQL[] = [];
  if (p.orgId) conds.push(eq(auditLog.orgId, p.orgId));
  if (p.action) conds.push(eq(auditLog.action, p.action));
  if (p.before) {
    conds.push(olderThan(auditLog.at, auditLog.id, { before: p.before, atOfBefore: sql`(select at from audit_log where id = ${p.before}::uuid)` }));
  }
  const rows = await db
    .select({
      id: auditLog.id,
      at: auditLog.at,
      action: auditLog.action,
      subjectKind: auditLog.subjectKind,
      subjectId: auditLog.subjectId,
      before: auditLog.before,
      after: auditLog.after,
      orgId: auditLog.orgId,
      orgName: organizations.name,
      actorUserId: auditLog.actorUserId,
      actorEmail: users.email,
    })
    .from(auditLog)
    .leftJoin(organizations, eq(organizations.id, auditLog.orgId))
    .leftJoin(users, eq(users.id, auditLog.actorUserId))
    .where(conds.length ? and(...conds) : undefined)
    .orderBy(desc(auditLog.at), desc(auditLog.id))
    .limit(pageFetchSize(limit));
  const { items: entries, nextCursor } = keysetPage(rows, limit, (r) => r.id);
  return { entries, nextCursor };
}
