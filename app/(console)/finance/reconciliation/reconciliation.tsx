"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { EmptyState, ErrorText, Spinner } from "@/app/_components/ui";
import { utcMonth } from "@/app/_lib/dates";
import { dateTime, usd } from "@/app/_lib/format";
import { formError } from "@/app/_lib/form-errors";
import { useTRPC } from "@/app/_lib/trpc";
import { StatusBadge } from "../_components/bits";

const currentMonth = () => new Date().toISOString().slice(0, 7);

export function Reconciliation() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [month, setMonth] = useState(currentMonth());
  const bounds = utcMonth(month);
  const valid = bounds !== null;
  const reports = useQuery({ ...trpc.finance.reconciliation.queryOptions(bounds ?? utcMonth(currentMonth())!), enabled: valid });
  const periods = useQuery(trpc.finance.periods.queryOptions());
  const close = useMutation(
    trpc.finance.closePeriod.mutationOptions({
      onSuccess: () => {
        void qc.invalidateQueries({ queryKey: trpc.finance.periods.queryKey() });
        void qc.invalidateQueries({ queryKey: trpc.audit.list.queryKey() });
      },
    }),
  );
  const review = useMutation(trpc.finance.reviewConflict.mutationOptions({ onSuccess: () => reports.refetch() }));
  const closed = periods.data?.find((p) => p.month.startsWith(month));
  // A month closes once it is over (the server refuses earlier too).
  const ended = bounds !== null && bounds.to.getTime() <= Date.now();

  return (
    <div className="space-y-6">
      <section className="card flex flex-wrap items-end gap-4">
        <div>
          <label className="label" htmlFor="rec-month">
            Month (UTC)
          </label>
          <input
            id="rec-month"
            type="month"
            className="input w-48"
            value={month}
            onChange={(e) => {
              // What closing said was about the month on screen then: it goes with it.
              close.reset();
              setMonth(e.target.value);
            }}
          />
        </div>
        <button className="btn-secondary" onClick={() => reports.refetch()} disabled={reports.isFetching}>
          {reports.isFetching ? "Running…" : "Run again"}
        </button>
        <div className="ml-auto text-right">
          {closed ? (
            <p className="text-sm text-slate-600" data-testid="period-closed">
              Closed {dateTime(closed.closedAt)}
            </p>
          ) : !ended ? (
            <p className="text-sm text-slate-500">{valid ? `${month} can be closed once it has ended.` : "Choose a month."}</p>
          ) : (
            <button
              className="btn-primary"
              data-testid="close-period"
              disabled={close.isPending}
              onClick={() => {
                if (window.confirm(`Close ${month}? No posting can be dated in it afterwards.`)) close.mutate({ month });
              }}
            >
              {close.isPending ? "Closing…" : `Close ${month}`}
            </button>
          )}
        </div>
      </section>
      <ErrorText testId="close-error">{formError(close.error, { month: "Month" })}</ErrorText>
      {close.data?.month.startsWith(month) && (
        <p className="rounded-md bg-emerald-50 px-3 py-2 text-sm text-emerald-800" data-testid="close-done">
          {month} is closed.
        </p>
      )}

      {reports.isLoading ? (
        <Spinner label="Reconciling…" />
      ) : reports.error ? (
        <ErrorText>{reports.error.message}</ErrorText>
      ) : (
        reports.data?.map((r) => (
          <section key={r.key} className="card space-y-3" data-testid={`report-${r.key}`}>
            <div className="flex items-center justify-between">
              <h2 className="font-semibold">{r.title}</h2>
              <StatusBadge ok={r.status === "pass"} testId={`report-${r.key}-status`} />
            </div>
            {r.figures.length > 0 && (
              <dl className="grid grid-cols-[1fr_auto] gap-x-6 gap-y-1 text-sm sm:w-2/3">
                {r.figures.map((f) => (
                  <div key={f.label} className="contents">
                    <dt className="text-slate-600">{f.label}</dt>
                    <dd className="text-right font-mono">{usd(f.nano)}</dd>
                  </div>
                ))}
              </dl>
            )}
            {r.differences.length === 0 ? (
              <p className="text-sm text-slate-500">No differences.</p>
            ) : (
              <table className="data-table">
                <thead>
                  <tr>
                    <th>Where</th>
                    <th>Difference</th>
                    <th className="text-right">Expected</th>
                    <th className="text-right">Found</th>
                    {r.key === "conflicts" && <th />}
                  </tr>
                </thead>
                <tbody>
                  {r.differences.map((d, i) => (
                    // biome-ignore lint/suspicious/noArrayIndexKey: read-only rows that may repeat exactly and are never reordered
                    <tr key={`${d.ref}-${i}`}>
                      <td className="max-w-64 break-all font-mono text-xs">{d.ref}</td>
                      <td className="text-sm">{d.detail}</td>
                      <td className="text-right font-mono">{d.expectedNano === null ? "—" : usd(d.expectedNano)}</td>
                      <td className="text-right font-mono">{d.actualNano === null ? "—" : usd(d.actualNano)}</td>
                      {r.key === "conflicts" && (
                        <td>
                          <button
                            className="btn-secondary"
                            disabled={review.isPending}
                            onClick={() => {
                              const note = window.prompt("Why is this conflict acceptable? (kept with the review)");
                              if (note) review.mutate({ conflictId: d.ref, note });
                            }}
                          >
                            Mark reviewed
                          </button>
                        </td>
                      )}
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </section>
        ))
      )}
      <ErrorText>{review.error?.message}</ErrorText>

      <section className="card space-y-3">
        <h2 className="font-semibold">Closed months</h2>
        {!periods.data?.length ? (
          <EmptyState title="No month closed yet">Close a month once it has ended and every report passes.</EmptyState>
        ) : (
          <ul className="text-sm" data-testid="closed-periods">
            {periods.data.map((p) => (
              <li key={p.month}>
                {p.month.slice(0, 7)} — closed {dateTime(p.closedAt)}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  );
}
