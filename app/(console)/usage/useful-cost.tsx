import Link from "next/link";
import { CputByModel } from "@/app/_components/cput-by-model";
import { serverCaller } from "@/server/api/server-caller";
import { monthOf } from "@/server/finance/period";
import { economyWindows } from "@/server/economy/windows";

/** "Your cost per useful 1M tokens, by model", and the way to the month's energy statement. */
export async function UsefulCost() {
  const caller = await serverCaller();
  const [day, week, month] = await Promise.all(economyWindows.map((window) => caller.economy.buyerCput({ window })));
  return (
    <>
      <CputByModel title="Your cost per useful 1M tokens, by model" byWindow={{ "24h": day!, "7d": week!, "30d": month! }} testId="buyer-cput" />
      <p className="text-sm">
        <Link href={`/usage/energy/${monthOf(new Date()).month}`} className="text-indigo-700 hover:underline" data-testid="energy-statement-link">
          Energy and emissions statement for this month
        </Link>
      </p>
    </>
  );
}
