import type { Metadata } from "next";
import { EmptyState, PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";

export const metadata: Metadata = { title: "Finance" };

export default async function Page() {
  await requireOrg("/finance");
  return (
    <>
      <PageHeader title="Finance" description="Statements, reconciliation and exports." />
      <EmptyState title="No ledger activity yet">Once money moves, statements and reconciliation reports appear here.</EmptyState>
    </>
  );
}
