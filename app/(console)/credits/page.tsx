import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { CreditsView } from "./credits-view";

export const metadata: Metadata = { title: "Credits" };

type SearchParams = Promise<{ topup?: string | string[]; canceled?: string | string[] }>;

export default async function CreditsPage({ searchParams }: { searchParams: SearchParams }) {
  const { org } = await requireOrg("/credits");
  const sp = await searchParams;
  const one = (v: string | string[] | undefined) => (typeof v === "string" && /^[0-9a-f-]{36}$/i.test(v) ? v : null);
  const returned = one(sp.topup) ?? one(sp.canceled);
  return (
    <>
      <PageHeader title="Credits" description={`Prepaid balance of ${org.name} for calling models through the proxy.`} />
      <CreditsView returned={returned ? { topupId: returned, leftCheckout: !one(sp.topup) } : null} />
    </>
  );
}
