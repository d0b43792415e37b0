import "server-only";
import { DrizzleAdapter } from "@auth/drizzle-adapter";
import NextAuth, { CredentialsSignin, type NextAuthConfig } from "next-auth";
import Credentials from "next-auth/providers/credentials";
import GitHub from "next-auth/providers/github";
import { accounts, sessions, users, verificationTokens } from "../../db/schema";
import { getDb } from "../db";
import { signInLimits, webEnv } from "../env";
import { processLogger } from "../lib/logger";
import { clientIp } from "./client-ip";
import { checkPasswordSignIn } from "./users";

class TooManyAttempts extends CredentialsSignin {
  code = "rate_limited";
}

// The config is built per request so nothing reads the environment at build time.
export const { handlers, auth, signIn, signOut } = NextAuth(() => {
  const env = webEnv();
  const db = getDb();
  const providers: NextAuthConfig["providers"] = [
    Credentials({
      credentials: { email: { type: "email" }, password: { type: "password" } },
      async authorize(credentials, request) {
        const email = typeof credentials.email === "string" ? credentials.email : "";
        const password = typeof credentials.password === "string" ? credentials.password : "";
        if (!email || !password) return null;
        const result = await checkPasswordSignIn(db, { email, password, ip: clientIp(request.headers, env.TRUSTED_PROXY_HOPS), limits: signInLimits(env) });
        if (result.ok) return result.user;
        if (result.reason === "rate_limited") throw new TooManyAttempts();
        return null;
      },
    }),
  ];
  if (env.AUTH_GITHUB_ID && env.AUTH_GITHUB_SECRET) {
    providers.push(GitHub({ clientId: env.AUTH_GITHUB_ID, clientSecret: env.AUTH_GITHUB_SECRET }));
  }
  return {
    secret: env.AUTH_SECRET,
    // The Host header decides Auth.js's URLs only when AUTH_TRUST_HOST says so; AUTH_URL (the launcher sets it) pins them instead.
    trustHost: env.AUTH_TRUST_HOST || Boolean(env.AUTH_URL),
    adapter: DrizzleAdapter(db, {
      usersTable: users,
      accountsTable: accounts,
      sessionsTable: sessions,
      verificationTokensTable: verificationTokens,
    }),
    // Credentials sign-in requires JWT sessions; the user id rides in `sub`.
    session: { strategy: "jwt" },
    pages: { signIn: "/signin" },
    // A wrong password is an expected outcome, not a server error worth a stack trace.
    logger: {
      error(error: Error) {
        if (error.name === "CredentialsSignin" || (error as { type?: string }).type === "CredentialsSignin") return;
        processLogger().error({ err: error }, "auth error");
      },
    },
    providers,
    callbacks: {
      session({ session, token }) {
        if (token.sub) session.user.id = token.sub;
        return session;
      },
    },
  };
});

/** Whether GitHub sign-in is configured (the sign-in page shows its button). */
export function githubEnabled(): boolean {
  const env = webEnv();
  return Boolean(env.AUTH_GITHUB_ID && env.AUTH_GITHUB_SECRET);
}
