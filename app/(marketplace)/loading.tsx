import { Spinner } from "@/app/_components/ui";

/** While a marketplace view loads (a new sort, window or filter is a new URL): the table's place, held. */
export default function MarketplaceLoading() {
  return (
    <div className="card flex min-h-48 items-center justify-center" data-testid="market-loading">
      <Spinner label="Loading models…" />
    </div>
  );
}
