import type { Metadata } from "next";
import { EmptyState, PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";

export const metadata: Metadata = { title: "Models" };

export default async function Page() {
  await requireOrg("/models");
  return (
    <>
      <PageHeader title="Models" description="Listings your organisation sells on the marketplace." />
      <EmptyState title="No listings yet">List a model with its prices per 1M tokens and its tokens per watt.</EmptyState>
    </>
  );
}
