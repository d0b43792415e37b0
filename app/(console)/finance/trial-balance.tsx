"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { MoneyCell } from "@/app/_components/money-cell";
import { EmptyState, QueryView } from "@/app/_components/ui";
import { utcDayEnd } from "@/app/_lib/dates";
import { usd } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { kindLabel, queryString, StatusBadge } from "./_components/bits";

export function TrialBalance() {
  const trpc = useTRPC();
  // Empty: now. Otherwise the end of the chosen day (UTC), so the day's postings count.
  const [day, setDay] = useState("");
  const end = utcDayEnd(day);
  const at = end ? new Date(end.getTime() - 1) : undefined;
  const tb = useQuery(trpc.ledger.trialBalance.queryOptions(at ? { at } : undefined));

  return (
    <section className="card space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <div>
          <label className="label" htmlFor="tb-at">
            As of (end of day, UTC)
          </label>
          <input id="tb-at" type="date" className="input w-48" value={day} onChange={(e) => setDay(e.target.value)} />
        </div>
        <a className="btn-secondary" href={`/api/finance/trial-balance${queryString({ at: at?.toISOString() })}`} data-testid="tb-csv">
          Download CSV
        </a>
      </div>
      <QueryView
        query={tb}
        loading="Summing the ledger…"
        isEmpty={(d) => !d.kinds.length}
        empty={
          <EmptyState title="No postings yet">{day ? "Nothing had been posted by that date." : "Once money moves, each account kind appears here."}</EmptyState>
        }
      >
        {(d) => (
          <>
            <div className="relative overflow-x-auto">
              <table className="data-table" data-testid="trial-balance">
                <thead>
                  <tr>
                    <th>Account kind</th>
                    <th className="text-right">Accounts</th>
                    <th className="text-right">Debits</th>
                    <th className="text-right">Credits</th>
                    <th className="text-right">Balance</th>
                    <th className="text-right">Open holds (Dr / Cr)</th>
                  </tr>
                </thead>
                <tbody>
                  {d.kinds.map((k) => (
                    <tr key={`${k.currency}-${k.kind}`} data-testid="tb-row" data-kind={k.kind}>
                      <td>
                        <Link className="text-indigo-700 hover:underline" href={`/finance/accounts?kind=${k.kind}`}>
                          {kindLabel(k.kind)}
                        </Link>
                        {k.currency !== "USD" && <span className="ml-1 text-xs text-slate-500">{k.currency}</span>}
                      </td>
                      <td className="text-right">{k.accounts}</td>
                      <MoneyCell nano={k.debitsNano} />
                      <MoneyCell nano={k.creditsNano} />
                      <MoneyCell nano={k.balanceNano} className="font-medium" data-testid="tb-balance" />
                      <td className="text-right font-mono text-slate-500">
                        {usd(k.pendingDebitsNano)} / {usd(k.pendingCreditsNano)}
                      </td>
                    </tr>
                  ))}
                </tbody>
                <tfoot>
                  {d.totals.map((t) => (
                    <tr key={t.currency} className="font-semibold">
                      <td className="px-3 py-2">Total {t.currency}</td>
                      <td />
                      <MoneyCell nano={t.debitsNano} className="px-3 py-2" data-testid="tb-debits" />
                      <MoneyCell nano={t.creditsNano} className="px-3 py-2" data-testid="tb-credits" />
                      <td className="px-3 py-2 text-right" colSpan={2}>
                        <span className="mr-2 text-sm font-normal text-slate-600">Debits = credits</span>
                        <StatusBadge ok={t.balanced} testId="tb-badge" />
                      </td>
                    </tr>
                  ))}
                </tfoot>
              </table>
            </div>
            <p className="text-xs text-slate-500">
              Balances are on each kind&apos;s normal side. Open a kind to see its accounts and statements; the{" "}
              <Link className="text-indigo-700 hover:underline" href="/finance/journal">
                journal
              </Link>{" "}
              lists every transfer.
            </p>
          </>
        )}
      </QueryView>
    </section>
  );
}
