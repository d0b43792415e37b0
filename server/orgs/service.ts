import { createHash, randomBytes } from "node:crypto";
import { and, asc, eq, gt, isNull, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../db/client";
import { invites, memberships, organizations, users, type MemberRole } from "../../db/schema";
import { DomainError } from "../errors";
import { recordAudit } from "../audit/log";
import type { CreateOrgInput, InviteInput } from "./inputs";
import { RESERVED_SLUGS, SLUG_RE, slugify } from "./slug";

export type ActiveOrg = { id: string; name: string; slug: string; isPlatform: boolean; role: MemberRole };

const INVITE_TTL_DAYS = 14;

/** The user's memberships, oldest first. */
export function listMemberships(db: DbOrTx, p: { userId: string }) {
  return db
    .select({
      id: organizations.id,
      name: organizations.name,
      slug: organizations.slug,
      isPlatform: organizations.isPlatform,
      role: memberships.role,
    })
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.orgId))
    .where(eq(memberships.userId, p.userId))
    .orderBy(asc(memberships.createdAt), asc(organizations.name));
}

/** The organisation the user works in: the chosen one if still a member, else the oldest membership. */
export async function resolveActiveOrg(db: DbOrTx, p: { userId: string }): Promise<ActiveOrg | null> {
  const [user] = await db.select({ activeOrgId: users.activeOrgId }).from(users).where(eq(users.id, p.userId));
  const all = await listMemberships(db, p);
  return all.find((m) => m.id === user?.activeOrgId) ?? all[0] ?? null;
}

export async function createOrg(db: Db, p: CreateOrgInput & { userId: string }) {
  const { userId, ...input } = p;
  const slug = input.slug ?? slugify(input.name);
  if (!SLUG_RE.test(slug)) throw new DomainError("INVALID_INPUT", "Choose a name with letters or digits", "name");
  if (RESERVED_SLUGS.has(slug)) {
    const field = input.slug ? "slug" : "name";
    throw new DomainError("INVALID_INPUT", `${field}: "${slug}" is reserved for the platform; choose another`, field);
  }
  return db.transaction(async (tx) => {
    const [org] = await tx.insert(organizations).values({ name: input.name, slug }).onConflictDoNothing({ target: organizations.slug }).returning();
    if (!org) throw new DomainError("CONFLICT", `The slug "${slug}" is taken; choose another`, "slug");
    await tx.insert(memberships).values({ orgId: org.id, userId, role: "owner" });
    await tx.update(users).set({ activeOrgId: org.id }).where(eq(users.id, userId));
    await recordAudit(tx, {
      actorUserId: userId,
      orgId: org.id,
      action: "org.create",
      subject: { kind: "organization", id: org.id },
      after: { name: org.name, slug: org.slug },
    });
    return org;
  });
}

export async function switchOrg(db: DbOrTx, p: { userId: string; orgId: string }) {
  const { userId, orgId } = p;
  const [m] = await db
    .select({ orgId: memberships.orgId })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
  // Same answer for "no such organisation" and "not a member": ids do not leak.
  if (!m) throw new DomainError("NOT_FOUND", "Organisation not found", "orgId");
  await db.update(users).set({ activeOrgId: orgId }).where(eq(users.id, userId));
}

export async function renameOrg(db: DbOrTx, p: { orgId: string; name: string }) {
  const [org] = await db.update(organizations).set({ name: p.name }).where(eq(organizations.id, p.orgId)).returning();
  return org!;
}

export function listMembers(db: DbOrTx, p: { orgId: string }) {
  return db
    .select({ userId: users.id, name: users.name, email: users.email, role: memberships.role, since: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.orgId, p.orgId))
    .orderBy(asc(memberships.createdAt));
}

function hashToken(token: string): string {
  return createHash("sha256").update(token).digest("hex");
}

/** Creates an invite; the token is returned once, only its hash is stored. */
export async function inviteMember(db: Db, p: InviteInput & { orgId: string; invitedBy: string }) {
  const { orgId, invitedBy, ...input } = p;
  return db.transaction(async (tx) => {
    // One invite at a time per organisation, so two owners cannot both invite the same email.
    await tx.select({ id: organizations.id }).from(organizations).where(eq(organizations.id, orgId)).for("update");
    const [already] = await tx
      .select({ userId: users.id })
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(and(eq(memberships.orgId, orgId), eq(users.email, input.email)));
    if (already) throw new DomainError("CONFLICT", `${input.email} is already a member`, "email");
    const [pending] = await pendingInvites(tx, orgId).where(and(pendingInvite(orgId), eq(invites.email, input.email)));
    if (pending) throw new DomainError("CONFLICT", `${input.email} already has a pending invite; revoke it to send a new one`, "email");
    const invite = await insertInvite(tx, orgId, invitedBy, input);
    await recordAudit(tx, {
      actorUserId: invitedBy,
      orgId,
      action: "member.invite",
      subject: { kind: "invite", id: invite.id },
      after: { email: invite.email, role: invite.role },
    });
    return invite;
  });
}

async function insertInvite(db: DbOrTx, orgId: string, invitedBy: string, input: InviteInput) {
  const token = randomBytes(24).toString("base64url");
  const [invite] = await db
    .insert(invites)
    .values({
      orgId,
      email: input.email,
      role: input.role,
      tokenHash: hashToken(token),
      invitedBy,
      expiresAt: new Date(Date.now() + INVITE_TTL_DAYS * 86_400_000),
    })
    .returning({ id: invites.id, email: invites.email, role: invites.role, expiresAt: invites.expiresAt });
  return { ...invite!, token };
}

/** An invite still waiting: neither accepted, revoked nor expired. */
const pendingInvite = (orgId: string) =>
  and(eq(invites.orgId, orgId), isNull(invites.acceptedAt), isNull(invites.revokedAt), gt(invites.expiresAt, sql`now()`));

function pendingInvites(db: DbOrTx, orgId: string) {
  return db
    .select({ id: invites.id, email: invites.email, role: invites.role, createdAt: invites.createdAt, expiresAt: invites.expiresAt })
    .from(invites)
    .where(pendingInvite(orgId))
    .$dynamic();
}

export function listPendingInvites(db: DbOrTx, p: { orgId: string }) {
  return pendingInvites(db, p.orgId).orderBy(asc(invites.createdAt));
}

export async function revokeInvite(db: DbOrTx, p: { orgId: string; inviteId: string }) {
  const { orgId, inviteId } = p;
  const [row] = await db
    .update(invites)
    .set({ revokedAt: new Date() })
    .where(and(eq(invites.id, inviteId), eq(invites.orgId, orgId), isNull(invites.acceptedAt), isNull(invites.revokedAt)))
    .returning({ id: invites.id });
  if (!row) throw new DomainError("NOT_FOUND", "Invite not found or no longer pending", "inviteId");
}

async function openInvite(db: DbOrTx, token: string) {
  const [row] = await db
    .select({
      id: invites.id,
      orgId: invites.orgId,
      orgName: organizations.name,
      email: invites.email,
      role: invites.role,
      expiresAt: invites.expiresAt,
      acceptedAt: invites.acceptedAt,
      revokedAt: invites.revokedAt,
    })
    .from(invites)
    .innerJoin(organizations, eq(organizations.id, invites.orgId))
    .where(eq(invites.tokenHash, hashToken(token)));
  if (!row) throw new DomainError("NOT_FOUND", "This invite link is not valid", "token");
  if (row.revokedAt) throw new DomainError("NOT_FOUND", "This invite was withdrawn", "token");
  if (row.acceptedAt) throw new DomainError("CONFLICT", "This invite has already been used", "token");
  if (row.expiresAt < new Date()) throw new DomainError("NOT_FOUND", "This invite has expired", "token");
  return row;
}

export async function describeInvite(db: DbOrTx, p: { token: string }) {
  const row = await openInvite(db, p.token);
  return { orgName: row.orgName, email: row.email, role: row.role };
}

/** Accepts an invite addressed to the user's email; makes the organisation active. */
export async function acceptInvite(db: Db, p: { user: { id: string; email: string }; token: string }) {
  const { user, token } = p;
  return db.transaction(async (tx) => {
    const invite = await openInvite(tx, token);
    if (invite.email !== user.email.toLowerCase()) {
      throw new DomainError("FORBIDDEN", `This invite is for ${invite.email}; sign in with that email to accept it`, "token");
    }
    const [claimed] = await tx
      .update(invites)
      .set({ acceptedAt: new Date(), acceptedBy: user.id })
      .where(and(eq(invites.id, invite.id), isNull(invites.acceptedAt)))
      .returning({ id: invites.id });
    if (!claimed) throw new DomainError("CONFLICT", "This invite has already been used", "token");
    await tx.insert(memberships).values({ orgId: invite.orgId, userId: user.id, role: invite.role }).onConflictDoNothing();
    await tx.update(users).set({ activeOrgId: invite.orgId }).where(eq(users.id, user.id));
    return { orgId: invite.orgId, orgName: invite.orgName, role: invite.role };
  });
}

async function ownerCount(tx: DbOrTx, orgId: string): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(memberships)
    .where(and(eq(memberships.orgId, orgId), eq(memberships.role, "owner")));
  return row?.n ?? 0;
}

async function lockMembers(tx: DbOrTx, orgId: string) {
  // Serialises membership changes of one organisation so "keep one owner" holds under concurrency.
  await tx.execute(sql`select id from organizations where id = ${orgId} for update`);
}

export async function removeMember(db: Db, p: { orgId: string; userId: string; actorUserId?: string | null }) {
  const { orgId, userId, actorUserId = null } = p;
  await db.transaction(async (tx) => {
    await lockMembers(tx, orgId);
    const [m] = await tx
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
    if (!m) throw new DomainError("NOT_FOUND", "Member not found", "userId");
    if (m.role === "owner" && (await ownerCount(tx, orgId)) <= 1) {
      throw new DomainError("CONFLICT", "An organisation needs at least one owner", "userId");
    }
    await tx.delete(memberships).where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
    await recordAudit(tx, { actorUserId, orgId, action: "member.remove", subject: { kind: "user", id: userId }, before: { role: m.role } });
  });
}

export async function setMemberRole(db: Db, p: { orgId: string; userId: string; role: MemberRole; actorUserId?: string | null }) {
  const { orgId, userId, role, actorUserId = null } = p;
  return db.transaction(async (tx) => {
    await lockMembers(tx, orgId);
    const [m] = await tx
      .select()
      .from(memberships)
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
    if (!m) throw new DomainError("NOT_FOUND", "Member not found", "userId");
    if (m.role === "owner" && role !== "owner" && (await ownerCount(tx, orgId)) <= 1) {
      throw new DomainError("CONFLICT", "An organisation needs at least one owner", "role");
    }
    await tx
      .update(memberships)
      .set({ role })
      .where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId)));
    await recordAudit(tx, { actorUserId, orgId, action: "member.role", subject: { kind: "user", id: userId }, before: { role: m.role }, after: { role } });
    return { before: m.role, after: role };
  });
}

/**
 * Creates the one platform organisation, or returns it when it exists. Never promotes an
 * existing organisation: whoever created one under the slug would read the platform's books.
 */
export async function ensurePlatformOrg(db: Db, p: { name?: string; slug?: string } = {}) {
  const { name = "tokenmarket platform", slug = "platform" } = p;
  return db.transaction(async (tx) => {
    const [existing] = await tx.select().from(organizations).where(eq(organizations.isPlatform, true));
    if (existing) return existing;
    const [org] = await tx.insert(organizations).values({ name, slug, isPlatform: true }).onConflictDoNothing({ target: organizations.slug }).returning();
    if (!org)
      throw new DomainError(
        "CONFLICT",
        `slug: an organisation that is not the platform already has the slug "${slug}"; choose another slug for the platform`,
        "slug",
      );
    return org;
  });
}
