import "server-only";
import { requireOrg } from "@/app/_lib/guards";
import { can } from "@/server/auth/permissions";

/**
 * Which finance views a page shows: the platform's books to finance members of the
 * platform organisation, the organisation's own to its owners and finance members.
 * The procedures enforce the same rule; this only chooses what to render.
 */
export async function financeAccess(path: string) {
  const { caller, org, role } = await requireOrg(path);
  const mode = can(role, "books.read") ? "platform" : can(role, "finance.read") ? "org" : "none";
  return { caller, org, mode } as const;
}
