import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { financeAccess } from "./_components/access";
import { Forbidden } from "./_components/bits";
import { FinanceNav } from "./_components/finance-nav";
import { OrgFinance } from "./org-finance";
import { SettlementLag } from "./settlement-lag";
import { TrialBalance } from "./trial-balance";
import { UsageBusLag } from "./usage-bus-lag";

export const metadata: Metadata = { title: "Finance" };

export default async function Page() {
  const { org, mode } = await financeAccess("/finance");
  if (mode === "platform") {
    return (
      <>
        <PageHeader title="Platform books" description="Trial balance by account kind at any moment: posted debits must equal posted credits." />
        <FinanceNav mode="platform" />
        <SettlementLag />
        <UsageBusLag />
        <TrialBalance />
      </>
    );
  }
  return (
    <>
      <PageHeader title="Finance" description={`${org.name}'s statements, top-ups, usage cost and payouts.`} />
      {mode === "org" ? (
        <>
          <FinanceNav mode="org" />
          <OrgFinance />
        </>
      ) : (
        <Forbidden />
      )}
    </>
  );
}
