import "server-only";
import { redirect } from "next/navigation";
import { serverCaller } from "@/server/api/server-caller";
import { sessionUser } from "@/server/api/http";
import { roleOf } from "@/server/auth/permissions";

/**
 * For pages that need a signed-in member of an organisation; `role` is what the permission
 * table (`can`) knows them by. Layouts and pages
 * render concurrently in the App Router, so each page calls this itself.
 */
export async function requireOrg(path: string) {
  if (!(await sessionUser())) redirect(`/signin?callbackUrl=${encodeURIComponent(path)}`);
  const caller = await serverCaller();
  const me = await caller.account.me();
  if (!me.activeOrg) redirect("/onboarding");
  return { caller, me, org: me.activeOrg, role: roleOf(me.activeOrg) };
}
