"use client";
import { useQuery } from "@tanstack/react-query";
import { MoneyCell } from "@/app/_components/money-cell";
import { Pager, useCursorPages } from "@/app/_components/pager";
import { EmptyState, ErrorText, Spinner } from "@/app/_components/ui";
import { dateTime, usd } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import { kindLabel, TransferLink } from "../../_components/bits";

const PAGE = 50;

export function AccountStatement({ accountId }: { accountId: string }) {
  const trpc = useTRPC();
  const pages = useCursorPages();
  const s = useQuery(trpc.ledger.statement.queryOptions({ accountId, after: pages.cursor, limit: PAGE }));
  if (s.isLoading) return <Spinner />;
  if (s.error) return <ErrorText>{s.error.message}</ErrorText>;
  const { account, entries, nextCursor } = s.data!;
  return (
    <section className="card space-y-4">
      <div className="flex flex-wrap items-end justify-between gap-4">
        <dl className="grid grid-cols-2 gap-x-6 gap-y-1 text-sm sm:grid-cols-4">
          <dt className="text-slate-500">Kind</dt>
          <dd>{kindLabel(account.kind)}</dd>
          <dt className="text-slate-500">Balance</dt>
          <dd className="font-mono">{usd(account.postedNano)}</dd>
          <dt className="text-slate-500">Held</dt>
          <dd className="font-mono">{usd(account.pendingNano)}</dd>
          <dt className="text-slate-500">Available</dt>
          <dd className="font-mono">{usd(account.availableNano)}</dd>
        </dl>
        <a className="btn-secondary" href={`/api/finance/statement?accountId=${account.id}`}>
          Download CSV
        </a>
      </div>
      {!entries.length ? (
        <EmptyState title="No transfers">This account has not moved yet.</EmptyState>
      ) : (
        <table className="data-table" data-testid="statement">
          <thead>
            <tr>
              <th>When</th>
              <th>Transfer</th>
              <th>Code</th>
              <th>Reference</th>
              <th className="text-right">Change</th>
              <th className="text-right">Balance</th>
              <th className="text-right">Held</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((e) => (
              <tr key={e.transferId}>
                <td className="whitespace-nowrap">{dateTime(e.createdAt)}</td>
                <td>
                  <TransferLink id={e.transferId} />
                </td>
                <td>
                  {e.code}
                  {e.type !== "single" && <span className="ml-1 text-xs text-slate-500">({e.type.replace("_", " ")})</span>}
                </td>
                <td className="max-w-52 truncate font-mono text-xs text-slate-500">{e.refKind ? `${e.refKind}:${e.refId}` : "—"}</td>
                <td className={`text-right font-mono ${e.postedDeltaNano < 0n ? "text-red-700" : ""}`}>
                  {e.postedDeltaNano === 0n ? "—" : usd(e.postedDeltaNano)}
                </td>
                <MoneyCell nano={e.balanceNano} className="font-medium" />
                <MoneyCell nano={e.pendingNano} className="text-slate-500" />
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} nextCursor={nextCursor} />
    </section>
  );
}
