import type { Metadata } from "next";
import { EmptyState, PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";

export const metadata: Metadata = { title: "API keys" };

export default async function Page() {
  await requireOrg("/keys");
  return (
    <>
      <PageHeader title="API keys" description="Keys let any OpenAI client call tokenmarket's proxy." />
      <EmptyState title="No API keys yet">Create a key with spend and rate limits to call models.</EmptyState>
    </>
  );
}
