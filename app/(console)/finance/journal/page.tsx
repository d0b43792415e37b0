import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { ledgerTransferCode } from "@/db/schema/ledger";
import { financeAccess } from "../_components/access";
import { Forbidden } from "../_components/bits";
import { FinanceNav } from "../_components/finance-nav";
import { JournalBrowser } from "./journal-browser";

export const metadata: Metadata = { title: "Journal" };

type Search = { code?: string; orgId?: string; accountId?: string; refKind?: string; refId?: string; from?: string; to?: string };

export default async function Page({ searchParams }: { searchParams: Promise<Search> }) {
  const { mode, caller } = await financeAccess("/finance/journal");
  if (mode !== "platform") {
    return (
      <>
        <PageHeader title="Journal" />
        <Forbidden />
      </>
    );
  }
  const initial = await searchParams;
  const organizations = await caller.finance.organizations();
  return (
    <>
      <PageHeader title="Journal" description="Every transfer, newest first. Filter, open one to see its source, or export the selection as CSV." />
      <FinanceNav mode="platform" />
      <JournalBrowser codes={ledgerTransferCode.enumValues} organizations={organizations} initial={initial} />
    </>
  );
}
