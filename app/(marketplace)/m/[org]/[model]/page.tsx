import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { TRPCError } from "@trpc/server";
import { MeasuredValue, measuredRule } from "@/app/_components/measured";
import { CputComponents, CputValue, EconomyAsOf, economyRules, formatLatency, MeasuredEnergy } from "@/app/_components/economy";
import { economyWindowParam } from "@/app/_components/economy-labels";
import { EconomyWindowSelect } from "@/app/_components/economy-window";
import type { EconomyWindow } from "@/server/economy/windows";
import { STANDARD_CONVERSATION } from "@/server/economy/standard-conversation";
import { formatDateTime, formatCompact, formatFigure, formatPricePer1k, formatPricePer1M, formatTokens, formatUsd } from "@/app/_lib/format";
import { serverCaller } from "@/server/api/server-caller";
import { env } from "@/server/env";
import { CodeExamples } from "../../../_components/code-examples";
import { PriceHistoryChart } from "../../../_components/price-history-chart";

type Params = Promise<{ org: string; model: string }>;
type SearchParams = Promise<Record<string, string | string[] | undefined>>;

async function load(params: Params, window?: EconomyWindow) {
  const { org, model } = await params;
  try {
    return await (await serverCaller()).catalog.listing({ slug: `${decodeURIComponent(org)}/${decodeURIComponent(model)}`, window });
  } catch (err) {
    if (err instanceof TRPCError && (err.code === "NOT_FOUND" || err.code === "BAD_REQUEST")) notFound();
    throw err;
  }
}

export async function generateMetadata({ params }: { params: Params }): Promise<Metadata> {
  const l = await load(params);
  return { title: l.name };
}

// Chart coordinates only: dollars per 1M as a float to place points; text prices stay exact.
const dollarsPer1M = (per1kNano: bigint) => Number(per1kNano) / 1e6;

export default async function ListingPage({ params, searchParams }: { params: Params; searchParams: SearchParams }) {
  const l = await load(params, economyWindowParam(await searchParams));
  const e = l.economy;
  const now = new Date();
  const rows: [string, bigint][] = [
    ["Input", l.currentPrice.inputPer1kNano],
    ["Output", l.currentPrice.outputPer1kNano],
    ["Cached input", l.currentPrice.cachedInputPer1kNano],
  ];
  return (
    <div className="space-y-6">
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div>
          <p className="text-sm text-slate-500">
            <Link href="/" className="hover:underline">
              Marketplace
            </Link>{" "}
            /{" "}
            <Link href={`/family/${l.family}`} className="hover:underline">
              {l.family}
            </Link>
          </p>
          <h1 className="text-2xl font-semibold tracking-tight" data-testid="listing-name">
            {l.name}
          </h1>
          <p className="mt-1 text-sm text-slate-600">
            by <strong>{l.provider.name}</strong> ·{" "}
            <code className="rounded bg-slate-100 px-1" data-testid="listing-slug">
              {l.slug}
            </code>{" "}
            · {formatTokens(l.contextLength)} context · {l.modalities.join(", ")} ·{" "}
            <span title="What the proxy counts this model's tokens with (credit holds, and answers without usage)" data-testid="listing-tokenizer">
              {l.tokenizer} tokenizer
            </span>
            {l.status === "paused" && <span className="ml-2 rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-800">paused: not serving requests</span>}
          </p>
          {l.description && <p className="mt-3 max-w-2xl text-slate-700">{l.description}</p>}
        </div>
        <Link href={`/family/${l.family}`} className="btn-secondary">
          Compare providers of {l.family}
        </Link>
      </div>

      <section className="card grid gap-4 sm:grid-cols-3" data-testid="listing-economy">
        <div>
          <h2 className="text-sm text-slate-500">
            Standard conversation ({STANDARD_CONVERSATION.inputTokens} in + {STANDARD_CONVERSATION.outputTokens} out)
          </h2>
          <p className="text-3xl font-semibold tabular-nums" data-testid="standard-cost">
            {formatUsd(e.standardConversation.costNano)}
          </p>
          <p className="text-sm text-slate-600">
            in <span data-testid="standard-latency">{formatLatency(e.standardConversation.latencyMs)}</span> (measured medians)
          </p>
        </div>
        <div>
          <div className="flex flex-wrap items-center justify-between gap-2">
            <h2 className="text-sm text-slate-500">Cost per useful 1M tokens</h2>
            <EconomyWindowSelect value={e.window} />
          </div>
          <p className="text-2xl font-semibold tabular-nums">
            <CputValue cput={e.cput} />
          </p>
        </div>
        <CputComponents cput={e.cput} nominalPer1MNano={e.nominalPer1MNano} />
        <p className="text-xs text-slate-500 sm:col-span-3">
          {economyRules} <EconomyAsOf asOf={l.economyAsOf} />
        </p>
      </section>

      <div className="grid gap-6 lg:grid-cols-3">
        <section className="card space-y-3 lg:col-span-2">
          <h2 className="font-semibold">Prices</h2>
          <table className="data-table" data-testid="listing-prices">
            <thead>
              <tr>
                <th>Tokens</th>
                <th className="text-right">per 1M</th>
                <th className="text-right">per 1k</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(([label, nano]) => (
                <tr key={label}>
                  <td>{label}</td>
                  <td className="text-right tabular-nums" data-testid={`price-1m-${label.toLowerCase().replace(" ", "-")}`}>
                    {formatPricePer1M(nano)}
                  </td>
                  <td className="text-right tabular-nums">{formatPricePer1k(nano)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="text-sm text-slate-600">
            {l.priceBasis === "blend" ? "Blended (3:1)" : "Embeddings, every token at the input price:"}{" "}
            <strong data-testid="comparable-price">{formatUsd(l.comparablePer1MNano)}</strong> per 1M tokens · about{" "}
            <strong data-testid="tokens-per-dollar">{formatCompact(l.tokensPerDollar)}</strong> tokens per dollar.
          </p>
        </section>

        <div className="space-y-6">
          <section className="card space-y-2" data-testid="listing-energy">
            <h2 className="font-semibold">Energy</h2>
            {l.tokensPerWatt === null ? (
              <p className="text-sm text-slate-600">The provider has not declared an energy figure.</p>
            ) : (
              <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-sm">
                <dt className="text-slate-500">Tokens per watt, declared</dt>
                <dd className="tabular-nums" data-testid="declared-tpw">
                  {formatFigure(l.tokensPerWatt)}
                </dd>
                <dt className="text-slate-500">measured (30 d)</dt>
                <dd className="tabular-nums">
                  <MeasuredEnergy energy={e.energy} />
                </dd>
                <dt className="text-slate-500">Wh per 1M tokens</dt>
                <dd className="tabular-nums" data-testid="wh-per-1m">
                  {formatFigure(l.whPer1M)}
                </dd>
                <dt className="text-slate-500">gCO₂ per 1M tokens</dt>
                <dd className="tabular-nums">{l.gCo2Per1M === null ? "—" : `${formatFigure(l.gCo2Per1M)} g`}</dd>
                {l.gridCarbonGPerKwh !== null && (
                  <>
                    <dt className="text-slate-500">Grid intensity</dt>
                    <dd>{formatFigure(l.gridCarbonGPerKwh)} g/kWh</dd>
                  </>
                )}
                {l.region && (
                  <>
                    <dt className="text-slate-500">Region</dt>
                    <dd>{l.region}</dd>
                  </>
                )}
                {l.energyHardware && (
                  <>
                    <dt className="text-slate-500">Hardware</dt>
                    <dd>{l.energyHardware}</dd>
                  </>
                )}
                {l.energyMeasuredOn && (
                  <>
                    <dt className="text-slate-500">Measured on</dt>
                    <dd>{l.energyMeasuredOn}</dd>
                  </>
                )}
              </dl>
            )}
            {l.energyMethod && <p className="text-xs text-slate-500">Method: {l.energyMethod}</p>}
            <p className="text-xs text-slate-500">Wh per 1M = 1 000 000 / (tokens per watt × 3600); gCO₂ = Wh / 1000 × grid g/kWh.</p>
          </section>

          <section className="card space-y-2" data-testid="listing-measured">
            <h2 className="font-semibold">Measured (last 24 h)</h2>
            {l.measured === null ? (
              <p className="text-sm text-slate-600">No requests through the proxy in the last 24 hours.</p>
            ) : (
              <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-sm">
                <dt className="text-slate-500">Median throughput</dt>
                <dd className="tabular-nums">
                  <MeasuredValue value={l.measured.medianOutputTokensPerSecond} sample={l.measured.tpsSample} unit="tokens/s" testId="measured-tps" />
                </dd>
                <dt className="text-slate-500">Median time to first token</dt>
                <dd className="tabular-nums">
                  <MeasuredValue value={l.measured.medianTtftMs} sample={l.measured.ttftSample} unit="ms" testId="measured-ttft" />
                </dd>
                <dt className="text-slate-500">Success rate</dt>
                <dd className="tabular-nums">{l.measured.successRate === null ? "—" : `${(l.measured.successRate * 100).toFixed(1)} %`}</dd>
                <dt className="text-slate-500">Requests</dt>
                <dd className="tabular-nums">{l.measured.requests.toLocaleString("en-US")}</dd>
              </dl>
            )}
            <p className="text-xs text-slate-500">
              From real traffic, beside the provider&apos;s declared figures: medians of successful requests (output tokens ÷ time from first token to end),
              read from 5 %-wide histogram buckets. {measuredRule}
            </p>
          </section>
        </div>
      </div>

      <section className="card space-y-3">
        <h2 className="font-semibold">Price history</h2>
        <PriceHistoryChart
          points={l.priceHistory.map((v) => ({
            t: v.effectiveFrom.getTime(),
            input: dollarsPer1M(v.inputPer1kNano),
            output: dollarsPer1M(v.outputPer1kNano),
            cachedInput: dollarsPer1M(v.cachedInputPer1kNano),
          }))}
        />
        <table className="data-table stack-table text-xs">
          <thead>
            <tr>
              <th>From</th>
              <th className="text-right">Input $/1M</th>
              <th className="text-right">Output $/1M</th>
              <th className="text-right">Cached $/1M</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {l.priceHistory.map((v) => (
              <tr key={v.effectiveFrom.toISOString()}>
                <td className="whitespace-nowrap font-medium sm:font-normal">{formatDateTime(v.effectiveFrom)}</td>
                <td data-label="Input $/1M" className="text-right tabular-nums">
                  {formatPricePer1M(v.inputPer1kNano)}
                </td>
                <td data-label="Output $/1M" className="text-right tabular-nums">
                  {formatPricePer1M(v.outputPer1kNano)}
                </td>
                <td data-label="Cached $/1M" className="text-right tabular-nums">
                  {formatPricePer1M(v.cachedInputPer1kNano)}
                </td>
                <td className="text-slate-500">
                  {v.effectiveFrom > now ? "scheduled" : v.effectiveFrom.getTime() === l.currentPrice.effectiveFrom.getTime() ? "current" : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>

      <section className="space-y-3">
        <h2 className="font-semibold">Call it</h2>
        <p className="text-sm text-slate-600">
          Any OpenAI client works: point it at our proxy and use the model name <code className="rounded bg-slate-100 px-1">{l.slug}</code>.
        </p>
        <CodeExamples
          baseUrl={env().GATEWAY_PUBLIC_URL}
          model={l.slug}
          embeddings={!l.modalities.includes("chat") && !l.modalities.includes("completion") && l.modalities.includes("embeddings")}
        />
      </section>
    </div>
  );
}
