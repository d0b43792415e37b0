import Link from "next/link";
import type { inferRouterOutputs } from "@trpc/server";
import { formatCompact, formatFigure, formatPricePer1M, formatTokens, formatUsd } from "@/app/_lib/format";
import type { AppRouter } from "@/server/api/root";
import { MeasuredValue } from "@/app/_components/measured";
import { CputValue, formatLatency, MeasuredEnergy } from "@/app/_components/economy";
import { economyWindowLabels } from "@/app/_components/economy-labels";
import type { EconomyWindow } from "@/server/economy/windows";

export type MarketItem = inferRouterOutputs<AppRouter>["catalog"]["marketplace"]["items"][number];

export function listingHref(slug: string): string {
  return `/m/${slug}`;
}

function measuredTitle(m: MarketItem["measured"]): string {
  if (!m) return "No traffic through the proxy in the last 24 h";
  const rate = m.successRate === null ? "" : `, ${(m.successRate * 100).toFixed(1)} % successful`;
  return `${m.requests.toLocaleString("en-US")} requests in the last 24 h${rate}`;
}

/**
 * Published listings with prices per 1M tokens and energy figures, one row each. Between phone
 * cards and wide screens the secondary columns (context, input and output prices, tokens per
 * dollar, Wh per 1M: each on the listing page or derived from a column shown) give way, so model
 * names and the measured figures fit at laptop widths.
 */
export function ListingTable({ items, badges, window }: { items: MarketItem[]; badges?: (item: MarketItem) => string[]; window: EconomyWindow }) {
  return (
    <div className="card overflow-x-auto p-0">
      <table className="data-table stack-table" data-testid="market-table">
        <thead>
          <tr>
            <th className="min-w-52">Model</th>
            <th className="sm:max-2xl:hidden">Context</th>
            <th className="text-right sm:max-2xl:hidden">Input $/1M</th>
            <th className="text-right sm:max-2xl:hidden">Output $/1M</th>
            <th className="text-right" title="Chat and completion: 3 input to 1 output token; embeddings: the input price">
              Price $/1M
            </th>
            <th className="text-right sm:max-2xl:hidden">Tokens / $</th>
            <th className="text-right" title="Everything billed for the listing's requests ÷ output tokens of requests that completed normally, per 1M">
              Cost / useful 1M <span className="whitespace-nowrap font-normal">({economyWindowLabels[window]})</span>
            </th>
            <th className="text-right" title="750 input + 250 output tokens at the price in force; latency from the measured medians">
              1k conversation
            </th>
            <th className="text-right" title="Tokens per second per watt (tokens per joule), declared by the provider">
              Tokens / W
            </th>
            <th className="text-right" title="Tokens per joule measured from energy reports over 30 days, with its sample">
              Measured tok / W
            </th>
            <th className="text-right sm:max-2xl:hidden">Wh / 1M</th>
            <th className="text-right" title="Median output tokens per second of successful requests through the proxy over the last 24 hours">
              Measured tok/s
            </th>
            <th className="text-right" title="Median time to first token over the last 24 hours">
              Measured TTFT
            </th>
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id} data-testid="market-row" data-slug={i.slug}>
              <td>
                <Link href={listingHref(i.slug)} className="font-medium text-indigo-700 hover:underline">
                  {i.name}
                </Link>
                <div className="text-xs text-slate-500">
                  {i.provider.name} ·{" "}
                  <Link href={`/family/${i.family}`} className="hover:underline">
                    {i.family}
                  </Link>{" "}
                  · {i.modalities.join(", ")}
                </div>
                {badges?.(i).map((b) => (
                  <span key={b} className="mr-1 mt-1 inline-block rounded bg-emerald-50 px-1.5 py-0.5 text-xs text-emerald-800">
                    {b}
                  </span>
                ))}
              </td>
              <td data-label="Context" className="sm:max-2xl:hidden">
                {formatTokens(i.contextLength)}
              </td>
              <td data-label="Input $/1M" className="text-right tabular-nums sm:max-2xl:hidden">
                {formatPricePer1M(i.prices.inputPer1kNano)}
              </td>
              <td data-label="Output $/1M" className="text-right tabular-nums sm:max-2xl:hidden">
                {i.priceBasis === "input" ? "—" : formatPricePer1M(i.prices.outputPer1kNano)}
              </td>
              <td data-label="Price $/1M" className="text-right tabular-nums">
                <span>
                  <span data-testid="comparable-price">{formatUsd(i.comparablePer1MNano)}</span>
                  <span className="block text-xs text-slate-500">{i.priceBasis === "blend" ? "3:1 blend" : "input (embeddings)"}</span>
                </span>
              </td>
              <td data-label="Tokens / $" className="text-right tabular-nums sm:max-2xl:hidden" data-testid="tokens-per-dollar">
                {formatCompact(i.tokensPerDollar)}
              </td>
              <td data-label={`Cost / useful 1M (${economyWindowLabels[window]})`} className="text-right tabular-nums">
                {i.economy ? <CputValue cput={i.economy.cput} /> : "—"}
              </td>
              <td data-label="1k conversation" className="text-right tabular-nums">
                {i.economy && (
                  <span>
                    <span data-testid="standard-cost">{formatUsd(i.economy.standardConversation.costNano)}</span>
                    <span className="block text-xs text-slate-500" data-testid="standard-latency">
                      {formatLatency(i.economy.standardConversation.latencyMs)}
                    </span>
                  </span>
                )}
              </td>
              <td data-label="Tokens / W" className="text-right tabular-nums" data-testid="tokens-per-watt">
                {formatFigure(i.tokensPerWatt)}
              </td>
              <td data-label="Measured tok / W" className="text-right tabular-nums">
                {i.economy ? <MeasuredEnergy energy={i.economy.energy} /> : "—"}
              </td>
              <td data-label="Wh / 1M" className="text-right tabular-nums sm:max-2xl:hidden" data-testid="wh-per-1m">
                {formatFigure(i.whPer1M)}
              </td>
              <td data-label="Measured tok/s" className="text-right tabular-nums" title={measuredTitle(i.measured)}>
                <MeasuredValue value={i.measured?.medianOutputTokensPerSecond ?? null} sample={i.measured?.tpsSample ?? 0} testId="measured-tps" />
              </td>
              <td data-label="Measured TTFT" className="text-right tabular-nums" title={measuredTitle(i.measured)}>
                <MeasuredValue value={i.measured?.medianTtftMs ?? null} sample={i.measured?.ttftSample ?? 0} unit="ms" testId="measured-ttft" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
