import { CputByModel } from "@/app/_components/cput-by-model";
import { serverCaller } from "@/server/api/server-caller";
import { economyWindows } from "@/server/economy/windows";

/** What a useful token of each of the provider's listings cost its buyers, beside its nominal price. */
export async function ProviderUsefulCost() {
  const caller = await serverCaller();
  const [day, week, month] = await Promise.all(economyWindows.map((window) => caller.economy.providerCput({ window })));
  return <CputByModel title="Cost per useful 1M tokens of your models" byWindow={{ "24h": day!, "7d": week!, "30d": month! }} testId="provider-cput" />;
}
