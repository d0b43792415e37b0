import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { auditActions } from "@/server/audit/log";
import { financeAccess } from "../_components/access";
import { Forbidden } from "../_components/bits";
import { FinanceNav } from "../_components/finance-nav";
import { AuditLog } from "./audit-log";

export const metadata: Metadata = { title: "Audit log" };

export default async function Page() {
  const { mode, org } = await financeAccess("/finance/audit");
  return (
    <>
      <PageHeader
        title="Audit log"
        description={
          mode === "platform"
            ? "Sensitive actions across the platform: who, when, and what changed."
            : `Sensitive actions in ${org.name}: who, when, and what changed.`
        }
      />
      {mode === "none" ? (
        <Forbidden />
      ) : (
        <>
          <FinanceNav mode={mode} />
          <AuditLog scope={mode} actions={auditActions} />
        </>
      )}
    </>
  );
}
