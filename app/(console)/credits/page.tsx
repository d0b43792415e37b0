import type { Metadata } from "next";
import { EmptyState, PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";

export const metadata: Metadata = { title: "Credits" };

export default async function Page() {
  await requireOrg("/credits");
  return (
    <>
      <PageHeader title="Credits" description="Prepaid balance for calling models through the proxy." />
      <EmptyState title="No credits yet">Top-ups through Stripe arrive here with receipts.</EmptyState>
    </>
  );
}
