import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { LocalOnboarding } from "./local-onboarding";

export const metadata: Metadata = { title: "Connect payouts" };

/** The local stand-in's onboarding (no Stripe keys): in Stripe mode the onboarding link leads to Stripe instead. */
export default async function Page() {
  const { org } = await requireOrg("/earnings/connect");
  return (
    <>
      <PageHeader title="Connect payouts" description={`Local stand-in for Stripe's Express onboarding of ${org.name}: no real account is created.`} />
      <LocalOnboarding />
    </>
  );
}
