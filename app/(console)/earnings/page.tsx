import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { EarningsDashboard } from "./earnings-dashboard";
import { ProviderPayouts } from "./provider-payouts";

export const metadata: Metadata = { title: "Earnings" };

export default async function Page() {
  const { org } = await requireOrg("/earnings");
  return (
    <>
      <PageHeader title="Earnings" description={`Tokens served, revenue, fees and payouts of ${org.name}'s models.`} />
      <EarningsDashboard />
      {(org.role === "owner" || org.role === "finance") && <ProviderPayouts canConnect={org.role === "owner"} />}
    </>
  );
}
