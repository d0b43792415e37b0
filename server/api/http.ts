import "server-only";
import { auth } from "../auth";
import { serviceTokenMatcher } from "../auth/service-tokens";
import { getDb } from "../db";
import { env } from "../env";
import type { Context, SessionUser } from "./trpc";

/** The signed-in user from the Auth.js session, or null. */
export async function sessionUser(): Promise<SessionUser | null> {
  const session = await auth();
  const u = session?.user;
  if (!u?.id || !u.email) return null;
  return { id: u.id, email: u.email, name: u.name ?? null };
}

let matcher: ReturnType<typeof serviceTokenMatcher> | undefined;
function matchServiceToken(token: string | null) {
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
    matchServiceToken,
  };
}
