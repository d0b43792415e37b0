import type { Metadata } from "next";
import { EmptyState, PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";

export const metadata: Metadata = { title: "Usage" };

export default async function Page() {
  await requireOrg("/usage");
  return (
    <>
      <PageHeader title="Usage" description="Spend, tokens and energy by model, key and day." />
      <EmptyState title="No usage yet">Requests made with your keys show up here within seconds.</EmptyState>
    </>
  );
}
