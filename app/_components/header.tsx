import Link from "next/link";
import { serverCaller } from "@/server/api/server-caller";
import { sessionUser } from "@/server/api/http";
import { NavLinks } from "./nav-links";
import { OrgSwitcher } from "./org-switcher";
import { UserMenu } from "./user-menu";

export async function Header() {
  const user = await sessionUser();
  const me = user ? await (await serverCaller()).account.me() : null;
  return (
    <header className="border-b border-slate-200 bg-white print:hidden">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-6 gap-y-2 px-4 py-3">
        <Link href="/" className="flex items-center gap-2 font-semibold tracking-tight">
          <span className="grid h-7 w-7 place-items-center rounded-md bg-indigo-600 text-xs font-bold text-white">tm</span>
          tokenmarket
        </Link>
        <NavLinks signedIn={Boolean(me?.activeOrg)} isPlatform={Boolean(me?.activeOrg?.isPlatform)} />
        <div className="ml-auto flex items-center gap-3">
          {me ? (
            <>
              {me.organizations.length > 0 && me.activeOrg ? (
                <OrgSwitcher organizations={me.organizations} activeId={me.activeOrg.id} />
              ) : (
                <Link href="/onboarding" className="btn-secondary">
                  Create organisation
                </Link>
              )}
              <UserMenu name={me.user.name ?? me.user.email} email={me.user.email} />
            </>
          ) : (
            <>
              <Link href="/signin" className="text-sm font-medium text-slate-700 hover:text-slate-900">
                Sign in
              </Link>
              <Link href="/signup" className="btn-primary">
                Sign up
              </Link>
            </>
          )}
        </div>
      </div>
    </header>
  );
}
