"use client";
import { useQuery } from "@tanstack/react-query";
import { MoneyCell } from "@/app/_components/money-cell";
import { Pager, useCursorPages } from "@/app/_components/pager";
import { EmptyState, ErrorText, Spinner } from "@/app/_components/ui";
import { dateTime, usd } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";

export function UsageEvents({ transferId }: { transferId: string }) {
  const trpc = useTRPC();
  const pages = useCursorPages();
  const q = useQuery(trpc.finance.usageEvents.queryOptions({ transferId, after: pages.cursor, limit: 100 }));
  if (q.isLoading) return <Spinner label="Loading usage events…" />;
  if (q.error) return <ErrorText>{q.error.message}</ErrorText>;
  const { source, events, nextCursor } = q.data!;
  return (
    <div className="space-y-3">
      {source && (
        <p className="text-sm" data-testid="usage-settlement" data-kind={source.kind}>
          {source.kind === "usage_window" ? "Settlement window" : "Settlement"} <span className="font-mono">{source.id}</span> ({dateTime(source.settledAt)}):{" "}
          {source.kind === "usage_window" ? (source.buyerOrgId ? "the buyer's " : "the provider's ") : ""}
          <span data-testid="usage-settlement-events">{source.events}</span> events costing <span className="font-mono">{usd(source.costNano)}</span>, fees{" "}
          <span className="font-mono">{usd(source.feeNano)}</span>
          {source.kind === "usage_settlement" ? " (all legs of this settlement)" : ""}.
        </p>
      )}
      {!events.length ? (
        <EmptyState title="No usage events">No settled usage events refer to this transfer.</EmptyState>
      ) : (
        <table className="data-table" data-testid="usage-events">
          <thead>
            <tr>
              <th>Event</th>
              <th>Started</th>
              <th>Listing</th>
              <th>Key</th>
              <th className="text-right">In / out / cached</th>
              <th>Status</th>
              <th className="text-right">Cost</th>
              <th className="text-right">Fee</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <tr key={e.id} data-testid="usage-event">
                <td className="font-mono text-xs">{e.id.slice(0, 8)}…</td>
                <td className="whitespace-nowrap">{dateTime(e.startedAt)}</td>
                <td>{e.listingSlug}</td>
                <td className="font-mono text-xs">{e.keyId.slice(0, 8)}…</td>
                <td className="text-right font-mono">
                  {e.inputTokens} / {e.outputTokens} / {e.cachedInputTokens}
                </td>
                <td>{e.status}</td>
                <MoneyCell nano={e.costNano} />
                <MoneyCell nano={e.feeNano} />
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager pages={pages} nextCursor={nextCursor} />
    </div>
  );
}
