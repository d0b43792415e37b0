import { randomBytes } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import type { Db } from "../../db/client";
import { memberships, organizations, users, type MemberRole } from "../../db/schema";
import { createCaller } from "../api/root";
import { serviceTokenMatcher } from "../auth/service-tokens";
import type { PaymentsRuntime, SessionUser } from "../api/trpc";
import { createPayments } from "../payments/config";
import { receiveWebhook } from "../payments/webhook";
import { registerSecrets } from "./secrets";

const unique = () => randomBytes(4).toString("hex");

/** A user row (no password: tests act through callers, not sign-in). */
export async function makeUser(db: Db, name = "user"): Promise<SessionUser> {
  const email = `${name}-${unique()}@test.example`.toLowerCase();
  const [u] = await db.insert(users).values({ email, name }).returning();
  return { id: u!.id, email: u!.email, name: u!.name };
}

/** An organisation with `owner` as its owner, active for them. */
export async function makeOrg(db: Db, owner: SessionUser, opts: { isPlatform?: boolean; name?: string } = {}) {
  const slug = `org-${unique()}`;
  const [org] = await db
    .insert(organizations)
    .values({ name: opts.name ?? slug, slug, isPlatform: opts.isPlatform ?? false })
    .returning();
  await addMember(db, org!.id, owner, "owner");
  return org!;
}

/** Adds `user` to the organisation with `role` and makes it their active one. */
export async function addMember(db: Db, orgId: string, user: SessionUser, role: MemberRole) {
  await db.insert(memberships).values({ orgId, userId: user.id, role });
  await db.update(users).set({ activeOrgId: orgId }).where(eq(users.id, user.id));
}

/** Service tokens valid in tests: the platform's, and one for the provider org with slug `provider-org`. */
export const TEST_SERVICE_TOKEN = "test-platform-service-token-0123456789abcdef";
export const testServiceTokens = serviceTokenMatcher(TEST_SERVICE_TOKEN, undefined);

export const TEST_LOCAL_WEBHOOK_SECRET = "whsec_local_test_secret_0123456789";
registerSecrets(TEST_SERVICE_TOKEN, TEST_LOCAL_WEBHOOK_SECRET);

/** Local-checkout payments whose webhook deliveries go straight to the handler (no HTTP). */
export function testPaymentsRuntime(db: Db): PaymentsRuntime {
  const payments = createPayments({ localWebhookSecret: TEST_LOCAL_WEBHOOK_SECRET });
  return {
    payments,
    deliver: (payload, signature) => receiveWebhook(db, { payments, rawBody: payload, signature }),
    appUrl: "http://localhost:3000",
    limits: { minCents: 500, maxCents: 1_000_000 },
    lowBalanceDefaultCents: 500,
    payoutMinimumCents: 1000,
  };
}

/** A tRPC caller acting as `user` (or signed out), with an optional service token. */
export function callerFor(db: Db, user: SessionUser | null, serviceToken: string | null = null, matchServiceToken = testServiceTokens) {
  return createCaller({ db, user, serviceToken, matchServiceToken, payments: testPaymentsRuntime(db) });
}

/** The tRPC error code a call ends with, or "OK". */
export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "OK";
  } catch (err) {
    if (err instanceof TRPCError) return err.code;
    throw err;
  }
}
