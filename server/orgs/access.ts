import type { MemberRole } from "../../db/schema";
import type { DbOrTx } from "../../db/client";
import { DomainError } from "../errors";
import { resolveActiveOrg, type ActiveOrg } from "./service";

/**
 * Who may act, decided in one place for both tRPC procedures (server/api/trpc.ts) and
 * the streamed CSV route handlers: the user's active organisation and role. Throws FORBIDDEN.
 */
export async function requireOrgRole(db: DbOrTx, userId: string, roles: readonly MemberRole[]): Promise<ActiveOrg> {
  const org = await resolveActiveOrg(db, { userId });
  if (!org) throw new DomainError("FORBIDDEN", "Create or join an organisation first");
  if (roles.length && !roles.includes(org.role)) {
    throw new DomainError("FORBIDDEN", `This needs the ${roles.join(" or ")} role in ${org.name}`);
  }
  return org;
}

/** Finance members of the platform organisation: the whole platform's books. */
export async function requirePlatformFinance(db: DbOrTx, userId: string): Promise<ActiveOrg> {
  const org = await resolveActiveOrg(db, { userId });
  if (!org?.isPlatform || org.role !== "finance") {
    throw new DomainError("FORBIDDEN", "Only finance members of the platform organisation can see the platform's books");
  }
  return org;
}
