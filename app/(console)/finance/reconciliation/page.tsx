import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { financeAccess } from "../_components/access";
import { Forbidden } from "../_components/bits";
import { FinanceNav } from "../_components/finance-nav";
import { Reconciliation } from "./reconciliation";

export const metadata: Metadata = { title: "Reconciliation" };

export default async function Page() {
  const { mode } = await financeAccess("/finance/reconciliation");
  return (
    <>
      <PageHeader
        title="Reconciliation"
        description="Each report compares two records of the same money and passes only when they agree exactly. A month closes when all pass."
      />
      {mode === "platform" ? (
        <>
          <FinanceNav mode="platform" />
          <Reconciliation />
        </>
      ) : (
        <Forbidden />
      )}
    </>
  );
}
