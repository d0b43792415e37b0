import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { OrgSettings } from "./org-settings";
import { can } from "@/server/auth/permissions";

export const metadata: Metadata = { title: "Organisation settings" };

export default async function SettingsPage() {
  const { org, me, role } = await requireOrg("/settings");
  return (
    <>
      <PageHeader
        title={org.name}
        description={
          <>
            <code className="rounded bg-slate-100 px-1">{org.slug}</code> · you are <strong data-testid="my-role">{org.role}</strong>
            {org.isPlatform && <span className="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-800">platform</span>}
          </>
        }
      />
      <OrgSettings key={org.id} orgName={org.name} isOwner={can(role, "org.manage")} myUserId={me.user.id} />
    </>
  );
}
