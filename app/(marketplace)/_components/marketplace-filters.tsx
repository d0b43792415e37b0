"use client";
import { usePathname, useRouter, useSearchParams } from "next/navigation";
import { useRef, useState } from "react";
import { EconomyWindowOptions } from "@/app/_components/economy-window";
import { DEFAULT_ECONOMY_WINDOW } from "@/server/economy/windows";

export const sortLabels = {
  price: "Price per 1M tokens",
  input: "Input price",
  output: "Output price",
  tokensPerDollar: "Tokens per dollar",
  tokensPerWatt: "Tokens per watt (measured where verified by 1M tokens)",
  whPer1M: "Wh per 1M tokens",
  throughput: "Measured throughput (24 h)",
  ttft: "Measured time to first token (24 h)",
  cput: "Cost per useful token",
  standardCost: "Standard conversation cost",
  standardLatency: "Standard conversation latency",
  name: "Name",
} as const;

/** `maxPriceError`: why the typed maximum price was left out, shown on its field. */
type Props = { providers: { slug: string; name: string }[]; families: string[]; maxPriceError?: string | null };

/** Search, filters and sort as URL parameters, so every view of the market is a link. */
export function MarketplaceFilters({ providers, families, maxPriceError }: Props) {
  const router = useRouter();
  const pathname = usePathname();
  const params = useSearchParams();
  const form = useRef<HTMLFormElement>(null);

  function apply() {
    const data = new FormData(form.current!);
    const next = new URLSearchParams();
    for (const [k, v] of data) if (typeof v === "string" && v.trim() !== "") next.set(k, v.trim());
    router.push(`${pathname}${next.size ? `?${next}` : ""}`);
  }
  const submitOnChange = () => apply();
  // On a phone the filters would fill the first screen: search and sort stay, the rest fold away.
  const active = ["modality", "provider", "family", "maxPricePer1M", "minContext"].filter((k) => params.get(k)).length;
  const [open, setOpen] = useState(false);

  return (
    <form
      ref={form}
      className="card grid gap-3 sm:grid-cols-2 lg:grid-cols-4"
      onSubmit={(e) => {
        e.preventDefault();
        apply();
      }}
      data-testid="market-filters"
    >
      <div className="sm:col-span-2">
        <label className="label" htmlFor="q">
          Search
        </label>
        <div className="flex gap-2">
          <input
            className="input"
            id="q"
            name="q"
            type="search"
            placeholder="Model, family or provider"
            defaultValue={params.get("q") ?? ""}
            data-testid="market-search"
          />
          <button className="btn-primary" type="submit">
            Search
          </button>
        </div>
      </div>
      <div>
        <label className="label" htmlFor="sort">
          Sort by
        </label>
        <select className="input" id="sort" name="sort" defaultValue={params.get("sort") ?? "price"} onChange={submitOnChange} data-testid="market-sort">
          {Object.entries(sortLabels).map(([value, label]) => (
            <option key={value} value={value}>
              {label}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label className="label" htmlFor="window">
          Cost per useful token over
        </label>
        <select
          className="input"
          id="window"
          name="window"
          defaultValue={params.get("window") ?? DEFAULT_ECONOMY_WINDOW}
          onChange={submitOnChange}
          data-testid="economy-window"
        >
          <EconomyWindowOptions />
        </select>
      </div>
      <button type="button" className="btn-secondary sm:hidden" aria-expanded={open} onClick={() => setOpen(!open)} data-testid="market-more-filters">
        {open ? "Fewer filters" : `More filters${active ? ` (${active})` : ""}`}
      </button>
      <div className={`${open ? "grid" : "hidden"} gap-3 sm:col-span-2 sm:grid sm:grid-cols-2 lg:col-span-4 lg:grid-cols-4`}>
        <div>
          <label className="label" htmlFor="modality">
            Modality
          </label>
          <select className="input" id="modality" name="modality" defaultValue={params.get("modality") ?? ""} onChange={submitOnChange}>
            <option value="">Any</option>
            <option value="chat">Chat</option>
            <option value="completion">Completion</option>
            <option value="embeddings">Embeddings</option>
          </select>
        </div>
        <div>
          <label className="label" htmlFor="provider">
            Provider
          </label>
          <select className="input" id="provider" name="provider" defaultValue={params.get("provider") ?? ""} onChange={submitOnChange}>
            <option value="">Any</option>
            {providers.map((p) => (
              <option key={p.slug} value={p.slug}>
                {p.name}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label className="label" htmlFor="family">
            Model family
          </label>
          <select className="input" id="family" name="family" defaultValue={params.get("family") ?? ""} onChange={submitOnChange}>
            <option value="">Any</option>
            {families.map((f) => (
              <option key={f} value={f}>
                {f}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label className="label" htmlFor="maxPricePer1M">
            Max price $ / 1M
          </label>
          <input
            className={`input ${maxPriceError ? "border-red-400" : ""}`}
            id="maxPricePer1M"
            name="maxPricePer1M"
            inputMode="decimal"
            placeholder="e.g. 0.50"
            defaultValue={params.get("maxPricePer1M") ?? ""}
            aria-invalid={maxPriceError ? true : undefined}
            aria-describedby={maxPriceError ? "maxPricePer1M-error" : undefined}
          />
          {maxPriceError && (
            <p id="maxPricePer1M-error" className="mt-1 text-xs text-red-700" data-testid="max-price-error">
              {maxPriceError}
            </p>
          )}
        </div>
        <div>
          <label className="label" htmlFor="minContext">
            Min context
          </label>
          <select className="input" id="minContext" name="minContext" defaultValue={params.get("minContext") ?? ""} onChange={submitOnChange}>
            <option value="">Any</option>
            {[8_192, 32_768, 131_072, 1_000_000].map((n) => (
              <option key={n} value={n}>
                {n >= 1_000_000 ? "1M" : `${n / 1024}k`} tokens
              </option>
            ))}
          </select>
        </div>
      </div>
    </form>
  );
}
