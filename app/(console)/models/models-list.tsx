"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { EmptyState, ErrorText, Spinner } from "@/app/_components/ui";
import { formatDateTime, formatFigure, formatPricePer1M } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";

export const statusStyle = {
  draft: "bg-slate-100 text-slate-700",
  published: "bg-emerald-100 text-emerald-800",
  paused: "bg-amber-100 text-amber-800",
} as const;

export function ModelsList({ canEdit }: { canEdit: boolean }) {
  const trpc = useTRPC();
  const mine = useQuery(trpc.catalog.mine.queryOptions());
  if (mine.isLoading) return <Spinner />;
  if (mine.error) return <ErrorText>{mine.error.message}</ErrorText>;
  if (!mine.data?.length) {
    return (
      <EmptyState
        title="No listings yet"
        action={
          canEdit && (
            <Link href="/models/new" className="btn-primary">
              List a model
            </Link>
          )
        }
      >
        List a model with its prices per 1M tokens and its tokens per watt.
      </EmptyState>
    );
  }
  return (
    <div className="card overflow-x-auto p-0">
      <table className="data-table" data-testid="own-listings">
        <thead>
          <tr>
            <th>Model</th>
            <th>Status</th>
            <th className="text-right">Input $/1M</th>
            <th className="text-right">Output $/1M</th>
            <th>Scheduled change</th>
            <th className="text-right">Tokens / W</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {mine.data.map((l) => (
            <tr key={l.id} data-testid="own-listing" data-slug={l.slug}>
              <td>
                <div className="font-medium">{l.name}</div>
                <div className="font-mono text-xs text-slate-500">{l.slug}</div>
              </td>
              <td>
                <span className={`rounded px-1.5 py-0.5 text-xs ${statusStyle[l.status]}`}>{l.status}</span>
              </td>
              <td className="text-right tabular-nums">{l.currentPrice ? formatPricePer1M(l.currentPrice.inputPer1kNano) : "—"}</td>
              <td className="text-right tabular-nums">{l.currentPrice ? formatPricePer1M(l.currentPrice.outputPer1kNano) : "—"}</td>
              <td className="text-xs text-slate-600">
                {l.scheduledPrice
                  ? `${formatPricePer1M(l.scheduledPrice.inputPer1kNano)} / ${formatPricePer1M(l.scheduledPrice.outputPer1kNano)} from ${formatDateTime(l.scheduledPrice.effectiveFrom)}`
                  : "—"}
              </td>
              <td className="text-right tabular-nums">{formatFigure(l.tokensPerWatt)}</td>
              <td className="text-right">
                <Link href={`/models/${l.id}`} className="text-indigo-700 hover:underline">
                  Manage
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
