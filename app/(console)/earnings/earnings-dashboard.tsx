"use client";
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { MoneyCell } from "@/app/_components/money-cell";
import { PeriodSelect } from "@/app/_components/period-select";
import { LocalTime, viewerTimeZone } from "@/app/_components/time";
import { EmptyState, ErrorText, QueryView, Spinner } from "@/app/_components/ui";
import { StatCard } from "@/app/_components/stat-card";
import { formatFigure, usd } from "@/app/_lib/format";
import { live } from "@/app/_lib/live";
import { useTRPC } from "@/app/_lib/trpc";
import { pivot, StackedChart } from "../usage/usage-chart";

const dayFormat = new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric" });
const performancePeriods = [
  [1, "Last 24 hours"],
  [7, "Last 7 days"],
  [30, "Last 30 days"],
] as const;

const pct = (v: number | null) => (v === null ? "—" : `${(v * 100).toFixed(v > 0 && v < 0.01 ? 2 : 1)} %`);
const ms = (v: number | null) => (v === null ? "—" : `${formatFigure(v)} ms`);

export function EarningsDashboard() {
  const trpc = useTRPC();
  const tz = useMemo(() => viewerTimeZone(), []);
  const [days, setDays] = useState(30);
  const [perfDays, setPerfDays] = useState(1);
  const earnings = useQuery({ ...trpc.dashboards.earnings.queryOptions({ tz, days }), ...live });
  const performance = useQuery({ ...trpc.dashboards.performance.queryOptions({ tz, days: perfDays }), ...live });
  const payouts = useQuery({ ...trpc.dashboards.payouts.queryOptions(), ...live });

  if (earnings.isLoading || payouts.isLoading) return <Spinner label="Loading earnings…" />;
  if (earnings.error || payouts.error) return <ErrorText>{(earnings.error ?? payouts.error)!.message}</ErrorText>;
  const e = earnings.data!;
  const p = payouts.data!;
  const groups = e.byListing.map((l) => ({ id: l.listingId, name: l.slug }));
  const chart = pivot(
    e.entries.map((x) => ({ bucket: x.day, groupId: x.listingId, netNano: x.netNano })),
    (x) => Number(x.netNano) / 1e9,
  );

  return (
    <div className="space-y-6">
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
        <StatCard label="Payable balance" value={usd(p.payableNano)} hint="earned and not yet paid out" testId="earnings-payable" />
        <StatCard
          label="Paid out"
          value={usd(p.paidOutNano)}
          hint={`${p.payouts.length} payout${p.payouts.length === 1 ? "" : "s"}`}
          testId="earnings-paid-out"
        />
        <StatCard label="Earned, all time" value={usd(p.earnedNano)} hint="net of platform fees" testId="earnings-earned" />
      </div>

      <section className="card space-y-4">
        <div className="flex flex-wrap items-end justify-between gap-3">
          <h2 className="font-semibold">Revenue</h2>
          <PeriodSelect label="Period" value={days} onChange={setDays} />
        </div>
        <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
          <StatCard label="Requests" value={e.totals.requests.toLocaleString()} testId="earnings-requests" />
          <StatCard label="Tokens served" value={e.totals.tokens.toLocaleString()} testId="earnings-tokens" />
          <StatCard label="Gross" value={usd(e.totals.grossNano)} hint="what buyers were charged" testId="earnings-gross" />
          <StatCard label="Platform fee" value={usd(e.totals.feeNano)} testId="earnings-fee" />
          <StatCard label="Net" value={usd(e.totals.netNano)} hint="credited to your payable" testId="earnings-net" />
        </div>
        {e.entries.length === 0 ? (
          <EmptyState title="Nothing earned in this period">Earnings appear as buyers use your listings.</EmptyState>
        ) : (
          <>
            <StackedChart data={chart} groups={groups} granularity="day" unit="usd" testId="earnings-chart" />
            <table className="data-table" data-testid="earnings-by-listing">
              <thead>
                <tr>
                  <th>Model</th>
                  <th className="text-right">Requests</th>
                  <th className="text-right">Tokens</th>
                  <th className="text-right">Gross</th>
                  <th className="text-right">Fee</th>
                  <th className="text-right">Net</th>
                </tr>
              </thead>
              <tbody>
                {e.byListing.map((l) => (
                  <tr key={l.listingId}>
                    <td className="font-mono text-xs">{l.slug}</td>
                    <td className="text-right tabular-nums">{l.requests.toLocaleString()}</td>
                    <td className="text-right tabular-nums">{l.tokens.toLocaleString()}</td>
                    <MoneyCell nano={l.grossNano} digits="tabular" />
                    <MoneyCell nano={l.feeNano} digits="tabular" />
                    <MoneyCell nano={l.netNano} digits="tabular" />
                  </tr>
                ))}
              </tbody>
            </table>
            <details>
              <summary className="cursor-pointer text-sm text-slate-600">By day and model</summary>
              <table className="data-table mt-2">
                <thead>
                  <tr>
                    <th>Day</th>
                    <th>Model</th>
                    <th className="text-right">Requests</th>
                    <th className="text-right">Out tokens</th>
                    <th className="text-right">Gross</th>
                    <th className="text-right">Fee</th>
                    <th className="text-right">Net</th>
                  </tr>
                </thead>
                <tbody>
                  {e.entries.map((x) => (
                    <tr key={`${x.day.getTime()}-${x.listingId}`}>
                      <td>
                        <LocalTime date={x.day} format={dayFormat} />
                      </td>
                      <td className="font-mono text-xs">{x.slug}</td>
                      <td className="text-right tabular-nums">{x.requests.toLocaleString()}</td>
                      <td className="text-right tabular-nums">{x.outputTokens.toLocaleString()}</td>
                      <MoneyCell nano={x.grossNano} digits="tabular" />
                      <MoneyCell nano={x.feeNano} digits="tabular" />
                      <MoneyCell nano={x.netNano} digits="tabular" />
                    </tr>
                  ))}
                </tbody>
              </table>
            </details>
          </>
        )}
        <p className="text-xs text-slate-500">
          The platform fee is computed on each request&apos;s cost and summed, so gross, fee and net are exact per model and per day; they add up to the
          settlements posted to your payable account. Days are in your time zone ({tz}).
        </p>
      </section>

      <section className="card space-y-3" data-testid="performance">
        <div className="flex flex-wrap items-end justify-between gap-3">
          <h2 className="font-semibold">Measured performance</h2>
          <PeriodSelect label="Performance period" value={perfDays} onChange={setPerfDays} options={performancePeriods} />
        </div>
        <QueryView
          query={performance}
          loading="Loading performance…"
          isEmpty={(d) => !d.listings.length}
          empty={<EmptyState title="No published models">Publish a model to see how it performs.</EmptyState>}
        >
          {(d) => (
            <table className="data-table">
              <thead>
                <tr>
                  <th>Model</th>
                  <th className="text-right">Requests</th>
                  <th className="text-right">Median output tokens/s</th>
                  <th className="text-right">Median TTFT</th>
                  <th className="text-right">Mean latency</th>
                  <th className="text-right">Error rate</th>
                </tr>
              </thead>
              <tbody>
                {d.listings.map((l) => (
                  <tr key={l.listingId} data-testid="performance-row">
                    <td className="font-mono text-xs">{l.slug}</td>
                    <td className="text-right tabular-nums">{l.requests.toLocaleString()}</td>
                    <td className="text-right tabular-nums" data-testid="performance-tps">
                      {l.medianOutputTokensPerSecond === null ? "—" : formatFigure(l.medianOutputTokensPerSecond)}
                    </td>
                    <td className="text-right tabular-nums">{ms(l.medianTtftMs)}</td>
                    <td className="text-right tabular-nums">{ms(l.meanLatencyMs)}</td>
                    <td className="text-right tabular-nums">{pct(l.errorRate)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </QueryView>
        <p className="text-xs text-slate-500">
          Measured by the proxy on real requests. Throughput: output tokens ÷ time from first token to the end (from the start when nothing streamed); medians
          of successful requests, read from 5 %-wide histogram buckets. Error rate counts errors and aborted requests.
        </p>
      </section>
    </div>
  );
}
