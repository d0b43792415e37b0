import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { financeAccess } from "../../_components/access";
import { Forbidden } from "../../_components/bits";
import { FinanceNav } from "../../_components/finance-nav";
import { AccountStatement } from "./account-statement";

export const metadata: Metadata = { title: "Account statement" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { mode } = await financeAccess(`/finance/accounts/${id}`);
  return (
    <>
      <PageHeader title="Account statement" description="Every transfer of the account, oldest first, with the running posted balance." />
      {mode === "platform" ? (
        <>
          <FinanceNav mode="platform" />
          <AccountStatement accountId={id} />
        </>
      ) : (
        <Forbidden />
      )}
    </>
  );
}
