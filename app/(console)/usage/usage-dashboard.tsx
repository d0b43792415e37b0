"use client";
import { useQuery } from "@tanstack/react-query";
import { useMemo, useState } from "react";
import { heldCreditText } from "@/app/_components/held-credit";
import { StatCard } from "@/app/_components/stat-card";
import { PeriodSelect } from "@/app/_components/period-select";
import { LocalTime, viewerTimeZone } from "@/app/_components/time";
import { EmptyState, ErrorText, QueryView, Spinner } from "@/app/_components/ui";
import { formatDuration, formatFigure, usd } from "@/app/_lib/format";
import { live } from "@/app/_lib/live";
import { useTRPC } from "@/app/_lib/trpc";
import { ActivityLog } from "./activity-log";
import { pivot, StackedChart } from "./usage-chart";

const ranges = [
  { label: "Last 24 hours", granularity: "hour", days: 1 },
  { label: "Last 7 days (hourly)", granularity: "hour", days: 7 },
  { label: "Last 7 days", granularity: "day", days: 7 },
  { label: "Last 30 days", granularity: "day", days: 30 },
  { label: "Last 90 days", granularity: "day", days: 90 },
] as const;
const rangeOptions = ranges.map((x, i) => [i, x.label] as const);

const periodLabel: Record<string, string> = { daily: "today (UTC)", weekly: "this week (UTC)", monthly: "this month (UTC)", lifetime: "lifetime" };

export function UsageDashboard() {
  const trpc = useTRPC();
  const tz = useMemo(() => viewerTimeZone(), []);
  const overview = useQuery({ ...trpc.dashboards.overview.queryOptions({ tz }), ...live });
  const [range, setRange] = useState(3);
  const [groupBy, setGroupBy] = useState<"listing" | "key">("listing");
  const [metric, setMetric] = useState<"usd" | "tokens">("usd");
  const r = ranges[range]!;
  const series = useQuery({ ...trpc.dashboards.series.queryOptions({ tz, granularity: r.granularity, days: r.days, groupBy }), ...live });
  const [energyDays, setEnergyDays] = useState(30);
  const energy = useQuery({ ...trpc.dashboards.energy.queryOptions({ tz, days: energyDays }), ...live });
  const listingOptions = useQuery(trpc.dashboards.energy.queryOptions({ tz, days: 93 }));
  const keys = useQuery({ ...trpc.dashboards.keySpend.queryOptions(), ...live });

  if (overview.isLoading) return <Spinner label="Loading usage…" />;
  if (overview.error) return <ErrorText>{overview.error.message}</ErrorText>;
  const o = overview.data!;

  const chartData = series.data
    ? pivot(series.data.points, (p) => (metric === "usd" ? Number(p.costNano) / 1e9 : p.inputTokens + p.outputTokens + p.cachedInputTokens))
    : [];

  return (
    <div className="space-y-6">
      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
        <StatCard
          label="Balance"
          value={usd(o.balanceNano)}
          hint={heldCreditText(o.reservedNano) ?? "credit paid in, less what your requests used"}
          testId="overview-balance"
        />
        <StatCard label="Spent today" value={usd(o.spendTodayNano)} hint={`${o.requestsToday.toLocaleString()} requests`} testId="overview-spend-today" />
        <StatCard
          label="Spent this month"
          value={usd(o.spendMonthNano)}
          hint={`${o.requestsMonth.toLocaleString()} requests · ${o.tokensMonth.toLocaleString()} tokens`}
          testId="overview-spend-month"
        />
        <StatCard label="Burn rate" value={`${usd(o.burnPerDayNano)} / day`} hint={`average over the last ${o.burnDays} days`} testId="overview-burn" />
        <StatCard
          label="Credit left"
          value={formatDuration(o.daysLeft)}
          hint={o.daysLeft === null ? "nothing spent in the last 7 days" : "at the current burn rate"}
          testId="overview-days-left"
        />
      </div>

      <section className="card space-y-4">
        <div className="flex flex-wrap items-end justify-between gap-3">
          <h2 className="font-semibold">
            {metric === "usd" ? "Spend" : "Tokens"} by {groupBy === "listing" ? "model" : "key"}
          </h2>
          <div className="flex flex-wrap gap-2 text-sm">
            <PeriodSelect label="Period" value={range} onChange={setRange} options={rangeOptions} className="input w-auto" />
            <select aria-label="Measure" className="input w-auto" value={metric} onChange={(e) => setMetric(e.target.value as "usd" | "tokens")}>
              <option value="usd">Spend</option>
              <option value="tokens">Tokens</option>
            </select>
            <select aria-label="Break down by" className="input w-auto" value={groupBy} onChange={(e) => setGroupBy(e.target.value as "listing" | "key")}>
              <option value="listing">By model</option>
              <option value="key">By key</option>
            </select>
          </div>
        </div>
        <QueryView
          query={series}
          loading="Loading chart…"
          isEmpty={() => chartData.length === 0}
          empty={<EmptyState title="No usage in this period">Requests made with your keys show up here within seconds.</EmptyState>}
        >
          {(d) => <StackedChart data={chartData} groups={d.groups} granularity={r.granularity} unit={metric} testId="usage-chart" />}
        </QueryView>
        <p className="text-xs text-slate-500">Times in your time zone ({tz}); hover a bar for UTC.</p>
      </section>

      <ActivityLog
        keys={(keys.data ?? []).map((k) => ({ id: k.id, name: `${k.name} (…${k.last4})` }))}
        listings={(listingOptions.data?.listings ?? []).map((l) => ({ id: l.listingId, name: l.slug }))}
      />

      <div className="grid gap-6 lg:grid-cols-2">
        <section className="card min-w-0 space-y-3" data-testid="energy">
          <div className="flex items-end justify-between gap-3">
            <h2 className="font-semibold">Energy</h2>
            <PeriodSelect label="Energy period" value={energyDays} onChange={setEnergyDays} />
          </div>
          <QueryView query={energy} loading="Loading energy…" isEmpty={(d) => !d.listings.length} empty={<EmptyState title="No usage in this period" />}>
            {(d) => (
              <>
                <p className="text-sm">
                  <strong data-testid="energy-total-wh">{formatFigure(d.totalWh)} Wh</strong> ·{" "}
                  <strong data-testid="energy-total-co2">{formatFigure(d.totalGCo2)} gCO₂</strong>
                </p>
                <table className="data-table stack-table">
                  <thead>
                    <tr>
                      <th>Model</th>
                      <th className="text-right">Tokens</th>
                      <th className="text-right" title="Declared by the provider: tokens per second per watt">
                        Tokens / W
                      </th>
                      <th className="text-right">Wh</th>
                      <th className="text-right">gCO₂</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d.listings.map((l) => (
                      <tr key={l.listingId}>
                        <td className="font-mono text-xs max-sm:break-all" title={l.energyHardware ?? undefined}>
                          {l.slug}
                        </td>
                        <td data-label="Tokens" className="text-right tabular-nums">
                          {l.tokens.toLocaleString()}
                        </td>
                        <td data-label="Tokens / W" className="text-right tabular-nums" data-testid="energy-tokens-per-watt">
                          {formatFigure(l.tokensPerWatt)}
                        </td>
                        <td data-label="Wh" className="text-right tabular-nums">
                          {l.wh === null ? "not declared" : formatFigure(l.wh)}
                        </td>
                        <td data-label="gCO₂" className="text-right tabular-nums">
                          {l.gCo2 === null ? "—" : formatFigure(l.gCo2)}
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
                <p className="text-xs text-slate-500">
                  Method: Wh = tokens processed (input + output + cached input) ÷ (declared tokens per watt × 3 600), since tokens per watt is tokens per joule;
                  gCO₂ = Wh ÷ 1 000 × the listing&apos;s declared grid carbon intensity (gCO₂/kWh). These are the providers&apos; declared figures, not metered
                  power. {d.undeclaredTokens > 0 && `${d.undeclaredTokens.toLocaleString()} tokens ran on models that declare no figure and are not counted.`}
                </p>
              </>
            )}
          </QueryView>
        </section>

        <section className="card min-w-0 space-y-3" data-testid="key-spend">
          <h2 className="font-semibold">Spend by key</h2>
          <QueryView query={keys} loading="Loading keys…" isEmpty={(d) => !d.length} empty={<EmptyState title="No API keys yet" />}>
            {(d) => (
              <table className="data-table stack-table">
                <thead>
                  <tr>
                    <th>Key</th>
                    <th className="text-right">Spent</th>
                    <th>Limit</th>
                  </tr>
                </thead>
                <tbody>
                  {d.map((k) => {
                    const share = k.spendLimitNano ? Math.min(1, Number(k.periodSpendNano) / Number(k.spendLimitNano)) : null;
                    return (
                      <tr key={k.id}>
                        <td>
                          {k.name}{" "}
                          <span className="text-xs text-slate-500">
                            …{k.last4}
                            {k.status !== "active" ? ` · ${k.status}` : ""}
                          </span>
                        </td>
                        <td data-label="Spent" className="text-right tabular-nums">
                          <span>
                            {usd(k.periodSpendNano)} <span className="text-xs text-slate-500">{periodLabel[k.spendPeriod]}</span>
                          </span>
                        </td>
                        <td data-label="Limit" className="sm:min-w-40">
                          {k.spendLimitNano === null ? (
                            <span className="text-xs text-slate-500">no limit</span>
                          ) : (
                            <div title={k.periodResetsAt ? `resets ${k.periodResetsAt.toISOString()}` : undefined}>
                              <div className="h-2 w-full rounded bg-slate-100">
                                <div className={`h-2 rounded ${share! >= 0.9 ? "bg-red-500" : "bg-indigo-500"}`} style={{ width: `${share! * 100}%` }} />
                              </div>
                              <div className="mt-1 text-xs text-slate-500">
                                of {usd(k.spendLimitNano)}
                                {k.periodResetsAt && (
                                  <>
                                    {" "}
                                    · resets <LocalTime date={k.periodResetsAt} />
                                  </>
                                )}
                              </div>
                            </div>
                          )}
                        </td>
                      </tr>
                    );
                  })}
                </tbody>
              </table>
            )}
          </QueryView>
        </section>
      </div>
    </div>
  );
}
