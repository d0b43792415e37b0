import "server-only";
import { auth } from "../auth";
import { getDb } from "../db";
import type { Context, SessionUser } from "./trpc";

/** The signed-in user from the Auth.js session, or null. */
export async function sessionUser(): Promise<SessionUser | null> {
  const session = await auth();
  const u = session?.user;
  if (!u?.id || !u.email) return null;
  return { id: u.id, email: u.email, name: u.name ?? null };
}

/** Context for a tRPC call made over HTTP: session user and any bearer token. */
export async function createHttpContext(req: Request): Promise<Context> {
  const authz = req.headers.get("authorization");
  return {
    db: getDb(),
    user: await sessionUser(),
    serviceToken: authz?.startsWith("Bearer ") ? authz.slice(7) : null,
  };
}
