import type { Metadata } from "next";
import Link from "next/link";
import { EmptyState, PageHeader } from "@/app/_components/ui";
import { serverCaller } from "@/server/api/server-caller";
import { EconomyAsOf } from "@/app/_components/economy";
import { economyWindowLabels, economyWindowParam } from "@/app/_components/economy-labels";
import { EconomyWindowSelect } from "@/app/_components/economy-window";
import { ListingTable } from "../../_components/listing-table";

type Params = Promise<{ family: string }>;
type SearchParams = Promise<Record<string, string | string[] | undefined>>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  return { title: decodeURIComponent((await params).family) };
}

export default async function FamilyPage({ params, searchParams }: { params: Params; searchParams: SearchParams }) {
  const family = decodeURIComponent((await params).family);
  const window = economyWindowParam(await searchParams);
  const view = await (await serverCaller()).catalog.family({ family, window });
  return (
    <>
      <PageHeader
        title={family}
        description={`${view.listings.length} provider${view.listings.length === 1 ? "" : "s"} of this model, cheapest first, with what a useful token really cost over the last ${economyWindowLabels[window]} and measured energy.`}
        actions={
          <>
            <EconomyWindowSelect value={window} />
            <Link href="/" className="btn-secondary">
              All models
            </Link>
          </>
        }
      />
      {view.listings.length === 0 ? (
        <EmptyState
          title="Nobody sells this model yet"
          action={
            <Link href="/" className="btn-primary">
              Browse the market
            </Link>
          }
        />
      ) : (
        <ListingTable
          window={window}
          items={view.listings}
          badges={(i) => [
            ...(i.id === view.cheapestId ? ["cheapest"] : []),
            ...(i.id === view.lowestCputId ? ["lowest cost per useful token"] : []),
            ...(i.id === view.mostEfficientId ? ["most tokens per watt"] : []),
          ]}
        />
      )}
      <p className="mt-3 text-xs text-slate-500">
        <EconomyAsOf asOf={view.economyAsOf} />
      </p>
    </>
  );
}
