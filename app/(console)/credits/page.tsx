import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { CreditsView } from "./credits-view";

export const metadata: Metadata = { title: "Credits" };

export default async function CreditsPage() {
  const { org } = await requireOrg("/credits");
  return (
    <>
      <PageHeader title="Credits" description={`Prepaid balance of ${org.name} for calling models through the proxy.`} />
      <CreditsView />
    </>
  );
}
