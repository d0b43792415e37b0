import type { DbOrTx } from "../../db/client";
import { can, memberRolesFor, roleOf, type Action } from "../auth/permissions";
import { DomainError } from "../errors";
import { resolveActiveOrg, type ActiveOrg } from "./service";

/**
 * Who may act, decided in one place for both tRPC procedures (server/api/trpc.ts) and the
 * streamed CSV route handlers: the user's active organisation, allowed the action by the
 * permission table (any member when no action is given). Throws FORBIDDEN.
 */
export async function requirePermission(db: DbOrTx, p: { userId: string; action?: Action }): Promise<ActiveOrg> {
  const { userId, action } = p;
  const org = await resolveActiveOrg(db, { userId });
  // The platform's own actions: no ordinary role has them, so none is worth naming.
  if (action && !memberRolesFor(action).length) {
    if (!org || !can(roleOf(org), action)) {
      throw new DomainError("FORBIDDEN", "Only finance members of the platform organisation can see the platform's books");
    }
    return org;
  }
  if (!org) throw new DomainError("FORBIDDEN", "Create or join an organisation first");
  if (action && !can(roleOf(org), action)) {
    throw new DomainError("FORBIDDEN", `This needs the ${memberRolesFor(action).join(" or ")} role in ${org.name}`);
  }
  return org;
}
