"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { MoneyCell } from "@/app/_components/money-cell";
import { Pager, useCursorPages } from "@/app/_components/pager";
import { EmptyState, ErrorText, QueryView, Spinner } from "@/app/_components/ui";
import { dateTime, usd } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { kindLabel } from "./_components/bits";
import { BuyerStatement } from "./_components/buyer-lines";

type OrgKind = "buyer_credits" | "buyer_receivable" | "provider_payable";
const ORG_KINDS: OrgKind[] = ["buyer_credits", "buyer_receivable", "provider_payable"];

/** The last `n` months (UTC), newest first, as YYYY-MM. */
function recentMonths(n: number): string[] {
  const now = new Date();
  return Array.from({ length: n }, (_, i) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - i, 1)).toISOString().slice(0, 7));
}

export function OrgFinance() {
  const trpc = useTRPC();
  const balances = useQuery(trpc.ledger.balances.queryOptions());
  const topups = useQuery(trpc.credits.topups.queryOptions());
  const payouts = useQuery(trpc.payouts.mine.queryOptions({}));
  const now = new Date();
  const monthStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1));
  const usage = useQuery(trpc.finance.myUsage.queryOptions({ from: monthStart, to: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1)) }));
  const accounts = (balances.data ?? []).filter((a) => (ORG_KINDS as string[]).includes(a.kind));
  const [kind, setKind] = useState<OrgKind | null>(null);
  const selected = kind ?? (accounts[0]?.kind as OrgKind | undefined) ?? null;

  if (balances.isLoading) return <Spinner />;
  if (balances.error) return <ErrorText>{balances.error.message}</ErrorText>;

  return (
    <div className="space-y-6">
      <section className="grid gap-4 sm:grid-cols-3">
        {accounts.length === 0 ? (
          <div className="sm:col-span-3">
            <EmptyState title="No money has moved yet">Top-ups, usage and earnings appear here once they are posted.</EmptyState>
          </div>
        ) : (
          accounts.map((a) => (
            <button
              key={a.id}
              onClick={() => setKind(a.kind as OrgKind)}
              className={`card text-left ${selected === a.kind ? "ring-2 ring-indigo-300" : ""}`}
              data-testid={`org-account-${a.kind}`}
            >
              <div className="text-sm text-slate-500">{kindLabel(a.kind)}</div>
              <div className="mt-1 font-mono text-xl">{usd(a.postedNano)}</div>
              {a.pendingNano !== 0n && (
                <div className="text-xs text-slate-500">
                  {a.kind === "buyer_credits" ? `${usd(a.pendingNano)} set aside for requests, not spent` : `${usd(a.pendingNano)} held`}
                </div>
              )}
            </button>
          ))
        )}
      </section>

      {selected === "provider_payable" && <OrgStatement kind={selected} accountId={accounts.find((a) => a.kind === selected)!.id} />}
      {selected && selected !== "provider_payable" && <BuyerMonthPanel />}

      <div className="grid gap-6 lg:grid-cols-2">
        <section className="card space-y-3">
          <h2 className="font-semibold">Monthly statements</h2>
          <ul className="grid grid-cols-3 gap-2 text-sm">
            {recentMonths(6).map((m) => (
              <li key={m}>
                <Link className="text-indigo-700 hover:underline" href={`/finance/statements/${m}`}>
                  {m}
                </Link>
              </li>
            ))}
          </ul>
        </section>

        <section className="card space-y-3">
          <h2 className="font-semibold">Top-ups and receipts</h2>
          {!topups.data?.filter((t) => t.status === "paid").length ? (
            <p className="text-sm text-slate-500">No paid top-ups.</p>
          ) : (
            <table className="data-table">
              <thead>
                <tr>
                  <th>Paid</th>
                  <th className="text-right">Amount</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {topups.data
                  .filter((t) => t.status === "paid")
                  .map((t) => (
                    <tr key={t.id}>
                      <td>{t.paidAt ? dateTime(t.paidAt) : "—"}</td>
                      <MoneyCell cents={t.amountCents} />
                      <td className="text-right">
                        <Link className="text-indigo-700 hover:underline" href={`/credits/receipts/${t.id}`}>
                          Receipt
                        </Link>
                      </td>
                    </tr>
                  ))}
              </tbody>
            </table>
          )}
        </section>

        <section className="card space-y-3">
          <h2 className="font-semibold">Usage cost this month, by key and listing</h2>
          {usage.error ? (
            <ErrorText>{usage.error.message}</ErrorText>
          ) : !usage.data?.length ? (
            <p className="text-sm text-slate-500">No usage this month.</p>
          ) : (
            <table className="data-table" data-testid="usage-by-key">
              <thead>
                <tr>
                  <th>Key</th>
                  <th>Listing</th>
                  <th className="text-right">Requests</th>
                  <th className="text-right">Cost</th>
                </tr>
              </thead>
              <tbody>
                {usage.data.map((u) => (
                  <tr key={`${u.keyId}-${u.listingSlug}`}>
                    <td>{u.keyName}</td>
                    <td>{u.listingSlug}</td>
                    <td className="text-right">{u.requests.toString()}</td>
                    <MoneyCell nano={u.costNano} />
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>

        <section className="card space-y-3">
          <h2 className="font-semibold">Payouts received</h2>
          {!payouts.data?.entries.length ? (
            <p className="text-sm text-slate-500">No payouts yet.</p>
          ) : (
            <table className="data-table" data-testid="my-payouts">
              <thead>
                <tr>
                  <th>Paid on</th>
                  <th className="text-right">Amount</th>
                  <th>Bank reference</th>
                </tr>
              </thead>
              <tbody>
                {payouts.data.entries.map((p) => (
                  <tr key={p.id}>
                    <td>{p.paidOn}</td>
                    <MoneyCell nano={p.amountNano} />
                    <td>{p.bankReference}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
    </div>
  );
}

/** This month of the buyer's credit, in the lines of the monthly statement. */
function BuyerMonthPanel() {
  const trpc = useTRPC();
  const month = recentMonths(1)[0]!;
  const s = useQuery(trpc.finance.myMonthly.queryOptions({ month }));
  return (
    <section className="card space-y-3">
      <div className="flex flex-wrap items-center justify-between gap-2">
        <h2 className="font-semibold">Your credit this month</h2>
        <Link className="btn-secondary" href={`/finance/statements/${month}`}>
          Monthly statement
        </Link>
      </div>
      <QueryView query={s} isEmpty={(d) => !d.buyer} empty={<p className="text-sm text-slate-500">No entries.</p>}>
        {(d) => <BuyerStatement s={d.buyer!} current />}
      </QueryView>
    </section>
  );
}

function OrgStatement({ kind, accountId }: { kind: "provider_payable"; accountId: string }) {
  const trpc = useTRPC();
  const pages = useCursorPages();
  const s = useQuery(trpc.finance.myStatement.queryOptions({ kind, after: pages.cursor, limit: 50 }));
  return (
    <section className="card space-y-3">
      <div className="flex items-center justify-between">
        <h2 className="font-semibold">Statement: {kindLabel(kind)}</h2>
        <a className="btn-secondary" href={`/api/finance/statement?accountId=${accountId}`}>
          Download CSV
        </a>
      </div>
      <QueryView query={s} isEmpty={(d) => !d.entries.length} empty={<p className="text-sm text-slate-500">No entries.</p>}>
        {(d) => (
          <table className="data-table" data-testid="org-statement">
            <thead>
              <tr>
                <th>When</th>
                <th>What</th>
                <th className="text-right">Change</th>
                <th className="text-right">Balance</th>
              </tr>
            </thead>
            <tbody>
              {d.entries.map((e) => (
                <tr key={e.transferId}>
                  <td>{dateTime(e.createdAt)}</td>
                  <td>{e.code}</td>
                  <td className={`text-right font-mono ${e.postedDeltaNano < 0n ? "text-red-700" : ""}`}>
                    {e.postedDeltaNano === 0n ? "—" : usd(e.postedDeltaNano)}
                  </td>
                  <MoneyCell nano={e.balanceNano} />
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
      <Pager pages={pages} nextCursor={s.data?.nextCursor} />
    </section>
  );
}
