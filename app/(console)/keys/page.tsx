import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { env } from "@/server/env";
import { KeysConsole } from "./keys-console";
import { can } from "@/server/auth/permissions";

export const metadata: Metadata = { title: "API keys" };

export default async function Page() {
  const { org, role } = await requireOrg("/keys");
  return (
    <>
      <PageHeader
        title="API keys"
        description={
          <>
            Keys let any OpenAI client call tokenmarket&apos;s proxy on behalf of <strong>{org.name}</strong>. Treat them like passwords.
          </>
        }
      />
      <KeysConsole key={org.id} canManage={can(role, "keys.manage")} baseUrl={env().GATEWAY_PUBLIC_URL} />
    </>
  );
}
