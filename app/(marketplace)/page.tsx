import { measuredRule } from "@/app/_components/measured";
import { EconomyAsOf, economyRules } from "@/app/_components/economy";
import Link from "next/link";
import { EmptyState } from "@/app/_components/ui";
import { formError } from "@/app/_lib/form-errors";
import { serverCaller } from "@/server/api/server-caller";
import { marketplaceInput } from "@/server/catalog/inputs";
import { parseUsd } from "@/server/ledger/money";
import { ListingTable } from "./_components/listing-table";
import { MarketplaceFilters } from "./_components/marketplace-filters";

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

const PAGE_SIZE = 20;

const maxPriceLabel = "Max price $ / 1M";

/** Why a typed maximum price cannot filter, in the filter's words; null when it can (or is empty). */
function maxPriceError(text: string | undefined): string | null {
  if (!text) return null;
  try {
    parseUsd(text, "maxPricePer1M");
    return null;
  } catch (err) {
    return formError(err as Error, { maxPricePer1M: maxPriceLabel }) ?? null;
  }
}

/** URL parameters to a marketplace query; anything malformed is ignored rather than an error page. */
function parseFilters(sp: Record<string, string | string[] | undefined>) {
  const one = (k: string) => (typeof sp[k] === "string" && sp[k] !== "" ? (sp[k] as string) : undefined);
  const num = (k: string) => (one(k) && Number.isInteger(Number(one(k))) ? Number(one(k)) : undefined);
  const raw = {
    q: one("q"),
    provider: one("provider"),
    family: one("family"),
    modality: one("modality"),
    // A bad maximum is marked on its filter (MarketplaceFilters) and left out, so the table still shows.
    maxPricePer1M: maxPriceError(one("maxPricePer1M")) ? undefined : one("maxPricePer1M"),
    minContext: num("minContext"),
    sort: one("sort"),
    window: one("window"),
    page: num("page"),
    pageSize: PAGE_SIZE,
  };
  const parsed = marketplaceInput.safeParse(raw);
  return parsed.success ? parsed.data : marketplaceInput.parse({ q: raw.q?.slice(0, 100), pageSize: PAGE_SIZE });
}

export default async function MarketplacePage({ searchParams }: { searchParams: SearchParams }) {
  const sp = await searchParams;
  const filters = parseFilters(sp);
  const caller = await serverCaller();
  const [facets, result] = await Promise.all([caller.catalog.facets(), caller.catalog.marketplace(filters).catch((err: Error) => ({ error: err.message }))]);
  const pageHref = (page: number) => {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(sp)) if (typeof v === "string" && v && k !== "page") p.set(k, v);
    if (page > 1) p.set("page", String(page));
    return `/${p.size ? `?${p}` : ""}`;
  };

  return (
    <div className="space-y-6">
      <section>
        <h1 className="text-3xl font-semibold tracking-tight">The market for AI tokens</h1>
        <p className="mt-2 max-w-2xl text-slate-600">
          Compare models by price per 1M tokens, tokens per dollar and tokens per watt, then call any of them with one OpenAI-compatible API key.
        </p>
      </section>
      <MarketplaceFilters
        providers={facets.providers}
        families={facets.families}
        maxPriceError={maxPriceError(typeof sp.maxPricePer1M === "string" ? sp.maxPricePer1M : undefined)}
      />
      {"error" in result ? (
        <p data-testid="market-error" className="rounded-md border border-red-200 bg-red-50 px-3 py-2 text-sm text-red-700">
          {result.error}
        </p>
      ) : result.items.length === 0 ? (
        facets.families.length === 0 ? (
          <EmptyState
            title="No models listed yet"
            action={
              <Link href="/models" className="btn-primary">
                List a model
              </Link>
            }
          >
            Providers publish models with prices and energy figures; they appear here for everyone to compare.
          </EmptyState>
        ) : (
          <EmptyState
            title="No model matches"
            action={
              <Link href="/" className="btn-secondary">
                Clear filters
              </Link>
            }
          >
            Try a shorter search or fewer filters.
          </EmptyState>
        )
      ) : (
        <>
          <ListingTable items={result.items} window={result.window} />
          <div className="flex items-center justify-between text-sm text-slate-600">
            <span data-testid="market-total">
              {result.total} model{result.total === 1 ? "" : "s"} · page {result.page} of {Math.max(1, Math.ceil(result.total / result.pageSize))}
            </span>
            <div className="flex gap-2">
              {result.page > 1 && (
                <Link className="btn-secondary" href={pageHref(result.page - 1)}>
                  Previous
                </Link>
              )}
              {result.page * result.pageSize < result.total && (
                <Link className="btn-secondary" href={pageHref(result.page + 1)}>
                  Next
                </Link>
              )}
            </div>
          </div>
          <p className="text-xs text-slate-500">
            Price per 1M tokens: chat and completion models at the 3:1 blend (3 input tokens to 1 output token); embeddings models, which produce no output
            tokens, at their input price. The two bases are listed apart when sorted by price. Tokens per watt (tokens per second per watt, i.e. per joule) is
            declared by each provider with its method; Wh per 1M tokens = 1 000 000 / (tokens per watt × 3600). {measuredRule} {economyRules}{" "}
            <EconomyAsOf asOf={result.economyAsOf} />
          </p>
        </>
      )}
    </div>
  );
}
