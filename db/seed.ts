import { createHash } from "node:crypto";
import { and, asc, eq } from "drizzle-orm";
import type { Db } from "./client";
import { apiKeys, listings, memberships, organizations, users, type MemberRole } from "./schema";
import { hashPassword } from "../server/auth/password";
import { createKey } from "../server/keys/service";
import { generateSecret, hashSecret } from "../server/keys/secret";
import { keyStatus } from "../server/keys/status";
import { ensurePlatformOrg } from "../server/orgs/service";

export type DemoSignIn = { role: string; email: string; password: string; org: string };

/** Known demo credentials: printed at start, never used outside demo databases. */
export const DEMO_PASSWORD = "tokenmarket-demo";
export const demoUsers = {
  provider: { email: "provider@demo.tokenmarket.test", name: "Pat Provider", org: "Demo Provider", slug: "demo-provider", role: "owner" },
  provider2: { email: "provider2@demo.tokenmarket.test", name: "Quinn Provider", org: "Second Provider", slug: "second-provider", role: "owner" },
  buyer: { email: "buyer@demo.tokenmarket.test", name: "Bea Buyer", org: "Demo Buyer", slug: "demo-buyer", role: "owner" },
  finance: { email: "finance@demo.tokenmarket.test", name: "Fin Ance", org: "tokenmarket platform", slug: "platform", role: "finance" },
} as const satisfies Record<string, { email: string; name: string; org: string; slug: string; role: MemberRole }>;

/** Seeds the demo into an empty database; a second run changes nothing. */
export async function seedDemo(db: Db): Promise<{ created: boolean; signIns: DemoSignIn[] }> {
  const signIns = Object.entries(demoUsers).map(([role, u]) => ({ role, email: u.email, password: DEMO_PASSWORD, org: u.org }));
  const [existing] = await db.select({ id: users.id }).from(users).where(eq(users.email, demoUsers.buyer.email));
  if (existing) return { created: false, signIns };

  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const platform = await ensurePlatformOrg(db, demoUsers.finance.org, demoUsers.finance.slug);
  await db.transaction(async (tx) => {
    for (const u of Object.values(demoUsers)) {
      const [user] = await tx.insert(users).values({ email: u.email, name: u.name, passwordHash }).returning();
      let orgId = platform.id;
      if (u.slug !== platform.slug) {
        const [org] = await tx.insert(organizations).values({ name: u.org, slug: u.slug }).returning();
        orgId = org!.id;
      }
      await tx.insert(memberships).values({ orgId, userId: user!.id, role: u.role });
      await tx.update(users).set({ activeOrgId: orgId }).where(eq(users.id, user!.id));
    }
  });
  return { created: true, signIns };
}

/** Whether the demo users exist (so the launcher can print them again). */
export async function demoSeeded(db: Db): Promise<boolean> {
  const [row] = await db.select({ id: users.id }).from(users).where(eq(users.email, demoUsers.buyer.email));
  return Boolean(row);
}

/**
 * The demo buyer's API key. Its secret is derived from a fixed string so the
 * launcher can print it on every start without it being stored anywhere in
 * clear: like the demo passwords, it is public and only for demo databases.
 */
export const DEMO_KEY_NAME = "Demo key";
const DEMO_KEY_BYTES = createHash("sha256").update("tokenmarket demo buyer API key").digest();
export const DEMO_KEY_SECRET = generateSecret(DEMO_KEY_BYTES);

export type DemoKey = { secret: string; org: string; active: boolean; exampleModel: string | null };

/**
 * Ensures the demo buyer organisation has the demo key (hashed under `pepper`);
 * a second run changes nothing. A demo key someone revoked stays revoked.
 */
export async function seedDemoKey(db: Db, pepper: string, now = new Date()): Promise<DemoKey | null> {
  const [org] = await db.select({ id: organizations.id }).from(organizations).where(eq(organizations.slug, demoUsers.buyer.slug));
  if (!org) return null;
  const [owner] = await db.select({ id: users.id }).from(users).where(eq(users.email, demoUsers.buyer.email));
  const hash = hashSecret(DEMO_KEY_SECRET, pepper);
  const [existing] = await db
    .select()
    .from(apiKeys)
    .where(and(eq(apiKeys.orgId, org.id), eq(apiKeys.name, DEMO_KEY_NAME)))
    .orderBy(asc(apiKeys.createdAt))
    .limit(1);
  let active = true;
  if (!existing) {
    await createKey(db, pepper, org.id, owner?.id ?? null, { name: DEMO_KEY_NAME }, now, DEMO_KEY_BYTES);
  } else {
    // A regenerated pepper (a fresh secrets file over an old database) would orphan the printed key.
    if (existing.hash !== hash) await db.update(apiKeys).set({ hash }).where(eq(apiKeys.id, existing.id));
    active = keyStatus(existing, now) === "active";
  }
  const [model] = await db.select({ slug: listings.slug }).from(listings).where(eq(listings.status, "published")).orderBy(asc(listings.slug)).limit(1);
  return { secret: DEMO_KEY_SECRET, org: demoUsers.buyer.org, active, exampleModel: model?.slug ?? null };
}
