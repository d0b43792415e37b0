import Link from "next/link";
import type { inferRouterOutputs } from "@trpc/server";
import { formatCompact, formatFigure, formatPricePer1M, formatTokens, formatUsd } from "@/app/_lib/format";
import type { AppRouter } from "@/server/api/root";

export type MarketItem = inferRouterOutputs<AppRouter>["catalog"]["marketplace"]["items"][number];

export function listingHref(slug: string): string {
  return `/m/${slug}`;
}

function measuredTitle(m: MarketItem["measured"]): string {
  return m ? `${m.requests.toLocaleString("en-US")} requests in the last 24 h, ${(m.successRate * 100).toFixed(1)} % successful` : "No traffic through the proxy in the last 24 h";
}

/** Published listings with prices per 1M tokens and energy figures, one row each. */
export function ListingTable({ items, badges }: { items: MarketItem[]; badges?: (item: MarketItem) => string[] }) {
  return (
    <div className="card overflow-x-auto p-0">
      <table className="data-table" data-testid="market-table">
        <thead>
          <tr>
            <th>Model</th>
            <th>Context</th>
            <th className="text-right">Input $/1M</th>
            <th className="text-right">Output $/1M</th>
            <th className="text-right">Blended $/1M</th>
            <th className="text-right">Tokens / $</th>
            <th className="text-right" title="Tokens per second per watt (tokens per joule), declared by the provider">Tokens / W</th>
            <th className="text-right">Wh / 1M</th>
            <th className="text-right" title="Median output tokens per second of successful requests through the proxy over the last 24 hours">Measured tok/s</th>
            <th className="text-right" title="Median time to first token over the last 24 hours">Measured TTFT</th>
          </tr>
        </thead>
        <tbody>
          {items.map((i) => (
            <tr key={i.id} data-testid="market-row" data-slug={i.slug}>
              <td>
                <Link href={listingHref(i.slug)} className="font-medium text-indigo-700 hover:underline">{i.name}</Link>
                <div className="text-xs text-slate-500">
                  {i.provider.name} · <Link href={`/family/${i.family}`} className="hover:underline">{i.family}</Link> · {i.modalities.join(", ")}
                </div>
                {badges?.(i).map((b) => (
                  <span key={b} className="mr-1 mt-1 inline-block rounded bg-emerald-50 px-1.5 py-0.5 text-xs text-emerald-800">{b}</span>
                ))}
              </td>
              <td>{formatTokens(i.contextLength)}</td>
              <td className="text-right tabular-nums">{formatPricePer1M(i.prices.inputPer1kNano)}</td>
              <td className="text-right tabular-nums">{formatPricePer1M(i.prices.outputPer1kNano)}</td>
              <td className="text-right tabular-nums">{formatUsd(i.blendedPer1MNano)}</td>
              <td className="text-right tabular-nums">{formatCompact(i.tokensPerDollar)}</td>
              <td className="text-right tabular-nums" data-testid="tokens-per-watt">{formatFigure(i.tokensPerWatt)}</td>
              <td className="text-right tabular-nums">{formatFigure(i.whPer1M)}</td>
              <td className="text-right tabular-nums" data-testid="measured-tps" title={measuredTitle(i.measured)}>
                {i.measured?.medianOutputTokensPerSecond == null ? "—" : formatFigure(i.measured.medianOutputTokensPerSecond)}
              </td>
              <td className="text-right tabular-nums" data-testid="measured-ttft" title={measuredTitle(i.measured)}>
                {i.measured?.medianTtftMs == null ? "—" : `${formatFigure(i.measured.medianTtftMs)} ms`}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
