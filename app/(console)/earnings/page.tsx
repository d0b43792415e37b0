import type { Metadata } from "next";
import { EmptyState, PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";

export const metadata: Metadata = { title: "Earnings" };

export default async function Page() {
  await requireOrg("/earnings");
  return (
    <>
      <PageHeader title="Earnings" description="Tokens served, revenue, fees and payouts." />
      <EmptyState title="Nothing earned yet">Earnings appear as buyers use your listings.</EmptyState>
    </>
  );
}
