import "server-only";
import { requireOrg } from "@/app/_lib/guards";

/**
 * Which finance views a page shows: the platform's books to finance members of the
 * platform organisation, the organisation's own to its owners and finance members.
 * The procedures enforce the same rule; this only chooses what to render.
 */
export async function financeAccess(path: string) {
  const { caller, org } = await requireOrg(path);
  const mode = org.isPlatform && org.role === "finance" ? "platform" : org.role === "owner" || org.role === "finance" ? "org" : "none";
  return { caller, org, mode } as const;
}
