import type { Metadata } from "next";
import Link from "next/link";
import { EmptyState, PageHeader } from "@/app/_components/ui";
import { serverCaller } from "@/server/api/server-caller";
import { ListingTable } from "../../_components/listing-table";

type Params = Promise<{ family: string }>;

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  return { title: decodeURIComponent((await params).family) };
}

export default async function FamilyPage({ params }: { params: Params }) {
  const family = decodeURIComponent((await params).family);
  const view = await (await serverCaller()).catalog.family({ family });
  return (
    <>
      <PageHeader
        title={family}
        description={`${view.listings.length} provider${view.listings.length === 1 ? "" : "s"} of this model, cheapest first, with what a useful token really cost over 7 days and measured energy.`}
        actions={
          <Link href="/" className="btn-secondary">
            All models
          </Link>
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
          items={view.listings}
          badges={(i) => [
            ...(i.id === view.cheapestId ? ["cheapest"] : []),
            ...(i.id === view.lowestCputId ? ["lowest cost per useful token"] : []),
            ...(i.id === view.mostEfficientId ? ["most tokens per watt"] : []),
          ]}
        />
      )}
    </>
  );
}
