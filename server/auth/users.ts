import { and, eq, gt, sql } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../../db/client";
import { signInAttempts, signUpAttempts, users } from "../../db/schema";
import { DomainError } from "../errors";
import { durationWords } from "./lockout";
import { burnVerify, hashPassword, MIN_PASSWORD_LENGTH, verifyPassword } from "./password";

export const emailSchema = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.email({ message: "must be a valid email address" }));

export const signUpInput = z.object({
  name: z.string().trim().min(1, "is required").max(100, "must be at most 100 characters"),
  email: emailSchema,
  password: z.string().min(MIN_PASSWORD_LENGTH, `must be at least ${MIN_PASSWORD_LENGTH} characters`).max(200, "must be at most 200 characters"),
});

export type SignUpLimits = { maxPerIp: number; maxPerWindow: number; windowSeconds: number };

/**
 * Creates a password user; the email must be new. The attempt is recorded before the
 * password is hashed (argon2 is the expensive part), then counted with every attempt
 * committed by then, its own included, so concurrent sign-ups cannot all slip under the limit: at most
 * `maxPerIp` from one address (when a trusted proxy gives it) and `maxPerWindow` in all.
 */
export async function signUp(db: DbOrTx, p: z.infer<typeof signUpInput> & { ip: string | null; limits: SignUpLimits }) {
  await db.insert(signUpAttempts).values({ ip: p.ip });
  const since = sql`now() - make_interval(secs => ${p.limits.windowSeconds})`;
  const [counts] = await db
    .select({
      all: sql<number>`count(*)::int`,
      byIp: sql<number>`count(*) filter (where ${signUpAttempts.ip} = ${p.ip})::int`,
    })
    .from(signUpAttempts)
    .where(gt(signUpAttempts.at, since));
  if ((counts?.all ?? 0) > p.limits.maxPerWindow || (p.ip !== null && (counts?.byIp ?? 0) > p.limits.maxPerIp)) {
    throw new DomainError("RATE_LIMITED", `Too many sign-ups from here; try again in ${durationWords(p.limits.windowSeconds)}`);
  }
  const passwordHash = await hashPassword(p.password);
  const [row] = await db
    .insert(users)
    .values({ name: p.name, email: p.email, passwordHash })
    .onConflictDoNothing({ target: users.email })
    .returning({ id: users.id, email: users.email, name: users.name });
  if (!row) throw new DomainError("CONFLICT", "An account with this email already exists", "email");
  return row;
}

export type SignInLimits = { maxPerEmail: number; maxPerIp: number; windowSeconds: number };

export type SignInResult = { ok: true; user: { id: string; email: string; name: string | null } } | { ok: false; reason: "invalid" | "rate_limited" };

/** What sign_in_attempts.ip holds when no trusted proxy gives the client's address; never counted per IP. */
const UNKNOWN_IP = "unknown";

/**
 * Checks a password sign-in. The attempt is recorded as a failure first and then counted
 * with every failure committed by then: of any number of concurrent guesses, at most the
 * limit reach the password check (the n-th to record itself counts at least n). It
 * becomes a success only once the password verified. The per-IP limit applies only when a
 * trusted proxy gives the address (`ip`), so a forged header can neither dodge it nor lock
 * out someone else's address.
 */
export async function checkPasswordSignIn(
  db: DbOrTx,
  input: { email: string; password: string; ip: string | null; limits: SignInLimits },
): Promise<SignInResult> {
  const { limits } = input;
  const email = input.email.trim().toLowerCase();
  const ip = input.ip ?? UNKNOWN_IP;
  const [attempt] = await db.insert(signInAttempts).values({ email, ip, succeeded: false }).returning({ id: signInAttempts.id });
  const since = sql`now() - make_interval(secs => ${limits.windowSeconds})`;
  const [counts] = await db
    .select({
      byEmail: sql<number>`count(*) filter (where ${signInAttempts.email} = ${email})::int`,
      byIp: sql<number>`count(*) filter (where ${signInAttempts.ip} = ${ip})::int`,
    })
    .from(signInAttempts)
    .where(and(eq(signInAttempts.succeeded, false), gt(signInAttempts.at, since), sql`(${signInAttempts.email} = ${email} or ${signInAttempts.ip} = ${ip})`));
  if ((counts?.byEmail ?? 0) > limits.maxPerEmail || (input.ip !== null && (counts?.byIp ?? 0) > limits.maxPerIp)) {
    return { ok: false, reason: "rate_limited" };
  }

  const [user] = await db
    .select({ id: users.id, email: users.email, name: users.name, passwordHash: users.passwordHash })
    .from(users)
    .where(eq(users.email, email));
  let ok = false;
  if (user?.passwordHash) ok = await verifyPassword(user.passwordHash, input.password);
  else await burnVerify(input.password);

  if (!ok || !user) return { ok: false, reason: "invalid" };
  await db.update(signInAttempts).set({ succeeded: true }).where(eq(signInAttempts.id, attempt!.id));
  return { ok: true, user: { id: user.id, email: user.email, name: user.name } };
}
