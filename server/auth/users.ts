import { and, eq, gt, sql } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../../db/client";
import { signInAttempts, users } from "../../db/schema";
import { DomainError } from "../errors";
import { burnVerify, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from "./password";

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "must be a valid email address" }));

export const signUpInput = z.object({
  name: z.string().trim().min(1, "is required").max(100, "must be at most 100 characters"),
  email: emailSchema,
  password: z
    .string()
    .min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`)
    .max(200, "must be at most 200 characters"),
});

/** Creates a password user; the email must be new. */
export async function signUp(db: DbOrTx, input: z.infer<typeof signUpInput>) {
  const passwordHash = await hashPassword(input.password);
  const [row] = await db
    .insert(users)
    .values({ name: input.name, email: input.email, passwordHash })
    .onConflictDoNothing({ target: users.email })
    .returning({ id: users.id, email: users.email, name: users.name });
  if (!row) throw new DomainError("CONFLICT", "An account with this email already exists", "email");
  return row;
}

export type SignInLimits = { maxPerEmail: number; maxPerIp: number; windowSeconds: number };

export type SignInResult =
  | { ok: true; user: { id: string; email: string; name: string | null } }
  | { ok: false; reason: "invalid" | "rate_limited" };

/**
 * Checks a password sign-in. Refuses without checking the password once an email
 * or an IP has too many recent failures; records every attempt.
 */
export async function checkPasswordSignIn(
  db: DbOrTx,
  input: { email: string; password: string; ip: string },
  limits: SignInLimits,
): Promise<SignInResult> {
  const email = input.email.trim().toLowerCase();
  const since = sql`now() - make_interval(secs => ${limits.windowSeconds})`;
  const [counts] = await db
    .select({
      byEmail: sql<number>`count(*) filter (where ${signInAttempts.email} = ${email})::int`,
      byIp: sql<number>`count(*) filter (where ${signInAttempts.ip} = ${input.ip})::int`,
    })
    .from(signInAttempts)
    .where(
      and(
        eq(signInAttempts.succeeded, false),
        gt(signInAttempts.at, since),
        sql`(${signInAttempts.email} = ${email} or ${signInAttempts.ip} = ${input.ip})`,
      ),
    );
  if ((counts?.byEmail ?? 0) >= limits.maxPerEmail || (counts?.byIp ?? 0) >= limits.maxPerIp) {
    return { ok: false, reason: "rate_limited" };
  }

  const [user] = await db
    .select({ id: users.id, email: users.email, name: users.name, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email));
  let ok = false;
  if (user?.passwordHash) ok = await verifyPassword(user.passwordHash, input.password);
  else await burnVerify(input.password);

  await db.insert(signInAttempts).values({ email, ip: input.ip, succeeded: ok });
  if (!ok || !user) return { ok: false, reason: "invalid" };
  return { ok: true, user: { id: user.id, email: user.email, name: user.name } };
}
