import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { TRPCError } from "@trpc/server";
import { EmptyState } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { formatFigure } from "@/app/_lib/format";
import { PrintButton } from "../../../credits/receipts/[id]/print-button";

export const metadata: Metadata = { title: "Energy statement" };

/** The month's energy and emissions by model and key, measured or declared per line: printable, and as CSV. */
export default async function EnergyStatementPage({ params }: { params: Promise<{ month: string }> }) {
  const { month } = await params;
  const { org, caller } = await requireOrg(`/usage/energy/${month}`);
  const s = await caller.economy.energyStatement({ month }).catch((err: unknown) => {
    if (err instanceof TRPCError && err.code === "BAD_REQUEST") notFound();
    throw err;
  });
  return (
    <div className="mx-auto max-w-4xl">
      <div className="mb-4 flex justify-between gap-2 print:hidden">
        <Link href="/usage" className="text-sm text-indigo-700 hover:underline">
          ← Usage
        </Link>
        <div className="flex gap-2">
          <a className="btn-secondary" href={`/api/usage/energy-statement?month=${s.month}`} data-testid="energy-statement-csv" download>
            Download CSV
          </a>
          <PrintButton />
        </div>
      </div>
      <article className="card space-y-4 p-6 print:border-0 print:shadow-none" data-testid="energy-statement">
        <header>
          <div className="text-lg font-semibold">Energy and emissions statement</div>
          <div className="text-sm text-slate-500">
            {org.name} · {s.month} (UTC)
          </div>
        </header>
        {s.lines.length === 0 ? (
          <EmptyState title="No usage this month">The statement lists energy once requests are billed.</EmptyState>
        ) : (
          <div className="overflow-x-auto">
            <table className="data-table stack-table text-sm">
              <thead>
                <tr>
                  <th>Model</th>
                  <th>API key</th>
                  <th>Basis</th>
                  <th className="text-right">Tokens</th>
                  <th className="text-right">Energy (Wh)</th>
                  <th className="text-right">Grid (g/kWh)</th>
                  <th className="text-right">Emissions (gCO₂)</th>
                </tr>
              </thead>
              <tbody>
                {s.lines.map((l) => (
                  <tr key={`${l.listingSlug}|${l.keyName}|${l.basis}`} data-testid="energy-line" data-basis={l.basis}>
                    <td className="font-medium">{l.listingSlug}</td>
                    <td data-label="API key">{l.keyName}</td>
                    <td data-label="Basis">{l.basis}</td>
                    <td data-label="Tokens" className="text-right tabular-nums">
                      {l.tokens.toLocaleString("en-US")}
                    </td>
                    <td data-label="Energy (Wh)" className="text-right tabular-nums">
                      {formatFigure(l.wh)}
                    </td>
                    <td data-label="Grid (g/kWh)" className="text-right tabular-nums">
                      {formatFigure(l.gridGPerKwh)}
                    </td>
                    <td data-label="Emissions (gCO₂)" className="text-right tabular-nums">
                      {formatFigure(l.gCo2)}
                    </td>
                  </tr>
                ))}
              </tbody>
              <tfoot>
                <tr className="font-semibold">
                  <td colSpan={4}>Total</td>
                  <td className="text-right tabular-nums" data-testid="energy-total-wh">
                    {formatFigure(s.totalWh)}
                  </td>
                  <td />
                  <td className="text-right tabular-nums">{formatFigure(s.totalGCo2)}</td>
                </tr>
              </tfoot>
            </table>
          </div>
        )}
        <p className="text-xs text-slate-500">
          Measured lines: joules the provider&apos;s servers reported for these requests (Wh = J / 3600). Declared lines: tokens ÷ the listing&apos;s declared
          tokens per watt (Wh = tokens / (tokens per watt × 3600)). Emissions = Wh / 1000 × the listing&apos;s grid intensity.
          {s.unknownTokens > 0 &&
            ` ${s.unknownTokens.toLocaleString("en-US")} tokens on listings that neither measure nor declare energy are not in the totals.`}
        </p>
      </article>
    </div>
  );
}
