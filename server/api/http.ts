import "server-only";
import { auth } from "../auth";
import { clientIp } from "../auth/client-ip";
import { serviceTokenMatcher } from "../auth/service-tokens";
import { getDb } from "../db";
import { env, webEnv } from "../env";
import { deliverToOwnWebhook, paymentsFromEnv, paymentsRuntimeFor } from "../payments/runtime";
import type { Context, PaymentsRuntime, SessionUser } from "./trpc";

/** The signed-in user from the Auth.js session, or null. */
export async function sessionUser(): Promise<SessionUser | null> {
  const session = await auth();
  const u = session?.user;
  if (!u?.id || !u.email) return null;
  return { id: u.id, email: u.email, name: u.name ?? null };
}

function paymentsRuntime(): PaymentsRuntime | undefined {
  return paymentsRuntimeFor(webEnv(), paymentsFromEnv(), deliverToOwnWebhook);
}

let matcher: ReturnType<typeof serviceTokenMatcher> | undefined;
/** The configured service tokens (SERVICE_TOKEN, PROVIDER_SERVICE_TOKENS) as a matcher. */
export function matchServiceToken(token: string | null) {
  matcher ??= serviceTokenMatcher(env().SERVICE_TOKEN, env().PROVIDER_SERVICE_TOKENS);
  return matcher(token);
}

/** Context for a tRPC call made over HTTP: session user and any bearer token. */
export async function createHttpContext(req: Request): Promise<Context> {
  const authz = req.headers.get("authorization");
  return {
    db: getDb(),
    user: await sessionUser(),
    serviceToken: authz?.startsWith("Bearer ") ? authz.slice(7) : null,
    clientIp: clientIp(req.headers, env().TRUSTED_PROXY_HOPS),
    matchServiceToken,
    usageSettlement: "windowed",
    payments: paymentsRuntime(),
  };
}

/** Context for server components: the session user, no bearer token. */
export async function createServerContext(): Promise<Context> {
  return { db: getDb(), user: await sessionUser(), serviceToken: null, matchServiceToken, payments: paymentsRuntime() };
}
