import type { Metadata } from "next";
import { PageHeader } from "@/app/_components/ui";
import { financeAccess } from "../_components/access";
import { Forbidden } from "../_components/bits";
import { FinanceNav } from "../_components/finance-nav";
import { ConnectRun } from "./connect-run";
import { Payouts } from "./payouts";

export const metadata: Metadata = { title: "Payouts" };

export default async function Page() {
  const { mode } = await financeAccess("/finance/payouts");
  return (
    <>
      <PageHeader title="Provider payouts" description="What the platform owes each provider, and the payouts recorded against it." />
      {mode === "platform" ? (
        <>
          <FinanceNav mode="platform" />
          <div className="space-y-6">
            <ConnectRun />
            <Payouts />
          </div>
        </>
      ) : (
        <Forbidden />
      )}
    </>
  );
}
