import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { ledgerAccountKind } from "@/db/schema/ledger";
import { financeAccess } from "../_components/access";
import { Forbidden } from "../_components/bits";
import { FinanceNav } from "../_components/finance-nav";
import { AccountList } from "./account-list";

export const metadata: Metadata = { title: "Accounts" };

export default async function Page({ searchParams }: { searchParams: Promise<{ kind?: string }> }) {
  const { mode } = await financeAccess("/finance/accounts");
  const { kind } = await searchParams;
  return (
    <>
      <PageHeader title="Accounts" description="Every ledger account with its posted balance, holds and what is available." />
      {mode === "platform" ? (
        <>
          <FinanceNav mode="platform" />
          <AccountList initialKind={kind ?? ""} kinds={ledgerAccountKind.enumValues} />
        </>
      ) : (
        <Forbidden />
      )}
    </>
  );
}
