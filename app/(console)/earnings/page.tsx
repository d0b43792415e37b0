import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { EarningsDashboard } from "./earnings-dashboard";
import { ProviderUsefulCost } from "./useful-cost";
import { ProviderPayouts } from "./provider-payouts";
import { can } from "@/server/auth/permissions";

export const metadata: Metadata = { title: "Earnings" };

export default async function Page() {
  const { org, role } = await requireOrg("/earnings");
  return (
    <>
      <PageHeader title="Earnings" description={`Tokens served, revenue, fees and payouts of ${org.name}'s models.`} />
      <EarningsDashboard />
      <ProviderUsefulCost />
      {can(role, "payouts.read") && <ProviderPayouts canConnect={can(role, "payouts.connect")} />}
    </>
  );
}
