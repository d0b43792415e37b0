import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { MoneyCell } from "@/app/_components/money-cell";
import { requireOrg } from "@/app/_lib/guards";
import { usd } from "@/app/_lib/format";
import { PrintButton } from "../../../credits/receipts/[id]/print-button";

export const metadata: Metadata = { title: "Payout statement" };

export default async function PayoutStatementPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { caller, org } = await requireOrg(`/earnings/payouts/${id}`);
  const s = await caller.connect.statement({ payoutId: id }).catch(() => null);
  if (!s) notFound();
  const p = s.payout;
  return (
    <div className="mx-auto max-w-3xl">
      <div className="mb-4 flex justify-between print:hidden">
        <Link href="/earnings" className="text-sm text-indigo-700 hover:underline">
          ← Earnings
        </Link>
        <PrintButton />
      </div>
      <article className="card space-y-6 p-8 print:border-0 print:shadow-none" data-testid="payout-statement">
        <header className="flex items-start justify-between">
          <div>
            <div className="text-lg font-semibold">tokenmarket</div>
            <div className="text-sm text-slate-500">Payout statement for {org.name}</div>
          </div>
          <div className="text-right text-sm">
            <div className="font-mono text-xs">{p.id}</div>
            <div className="text-slate-500">{p.createdAt.toISOString().slice(0, 10)}</div>
          </div>
        </header>
        <dl className="grid grid-cols-2 gap-y-2 text-sm">
          <dt className="text-slate-500">Amount</dt>
          <dd className="font-semibold" data-testid="statement-amount">
            {usd(p.amountNano)}
          </dd>
          <dt className="text-slate-500">Method</dt>
          <dd>{p.kind === "stripe" ? "Stripe Connect transfer" : "Bank transfer"}</dd>
          <dt className="text-slate-500">Reference</dt>
          <dd className="font-mono text-xs" data-testid="statement-reference">
            {[p.reference, p.stripePayoutId].filter(Boolean).join(" · ") || "—"}
          </dd>
          <dt className="text-slate-500">Status</dt>
          <dd>{p.status}</dd>
          <dt className="text-slate-500">Covers usage settled</dt>
          <dd>
            {s.from.getTime() === 0 ? "from the start" : `after ${s.from.toISOString()}`} up to {p.createdAt.toISOString()}
          </dd>
        </dl>
        <table className="data-table" data-testid="statement-settlements">
          <thead>
            <tr>
              <th>Settled</th>
              <th className="text-right">Requests</th>
              <th className="text-right">Gross</th>
              <th className="text-right">Fee</th>
              <th className="text-right">Earned</th>
            </tr>
          </thead>
          <tbody>
            {s.settlements.map((x) => (
              <tr key={x.id}>
                <td>{x.settledAt.toISOString().replace("T", " ").slice(0, 19)}</td>
                <td className="text-right tabular-nums">{x.events}</td>
                <MoneyCell nano={x.costNano} digits="tabular" />
                <MoneyCell nano={x.feeNano} digits="tabular" />
                <MoneyCell nano={x.earnedNano} digits="tabular" />
              </tr>
            ))}
          </tbody>
          <tfoot>
            <tr>
              <td colSpan={4}>Earned in this period</td>
              <MoneyCell nano={s.earnedNano} digits="tabular" className="font-semibold" data-testid="statement-earned" />
            </tr>
          </tfoot>
        </table>
        <p className="text-xs text-slate-500">Payouts pay funded earnings oldest first: this payout covers the usage settled since the previous payout.</p>
      </article>
    </div>
  );
}
