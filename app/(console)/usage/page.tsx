import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { UsageDashboard } from "./usage-dashboard";
import { UsefulCost } from "./useful-cost";

export const metadata: Metadata = { title: "Usage" };

export default async function Page() {
  const { org } = await requireOrg("/usage");
  return (
    <>
      <PageHeader title="Usage" description={`What ${org.name} spent, on which models and keys, and the energy it took.`} />
      <UsageDashboard />
      <UsefulCost />
    </>
  );
}
