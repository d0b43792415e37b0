import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { requireOrg } from "@/app/_lib/guards";
import { formatDateTime, usdFromCents } from "@/app/_lib/format";
import { PrintButton } from "./print-button";

export const metadata: Metadata = { title: "Receipt" };

export default async function ReceiptPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { caller } = await requireOrg(`/credits/receipts/${id}`);
  const topup = await caller.credits.topup({ topupId: id }).catch(() => null);
  if (!topup || topup.status !== "paid" || !topup.paidAt) notFound();
  return (
    <div className="mx-auto max-w-xl">
      <div className="mb-4 flex justify-between print:hidden">
        <Link href="/credits" className="text-sm text-indigo-700 hover:underline">
          ← Credits
        </Link>
        <PrintButton />
      </div>
      <article className="card space-y-6 p-8 print:border-0 print:shadow-none" data-testid="receipt">
        <header className="flex items-start justify-between">
          <div>
            <div className="text-lg font-semibold">tokenmarket</div>
            <div className="text-sm text-slate-500">Receipt for prepaid credits</div>
          </div>
          <div className="text-right text-sm">
            <div className="font-mono">No. {topup.receiptNumber}</div>
            <div className="text-slate-500">{topup.paidAt.toISOString().slice(0, 10)}</div>
          </div>
        </header>
        <dl className="grid grid-cols-2 gap-y-2 text-sm">
          <dt className="text-slate-500">Billed to</dt>
          <dd data-testid="receipt-org">{topup.orgName}</dd>
          <dt className="text-slate-500">Paid on</dt>
          <dd>{formatDateTime(topup.paidAt)}</dd>
          <dt className="text-slate-500">Payment reference</dt>
          <dd className="min-w-0 break-all font-mono text-xs" data-testid="receipt-reference">
            {topup.paymentIntentId ?? topup.checkoutSessionId}
          </dd>
          <dt className="text-slate-500">Method</dt>
          <dd>{topup.mode === "local" ? "Local test payment (no real money)" : "Stripe"}</dd>
        </dl>
        <div className="flex items-center justify-between border-t border-slate-200 pt-4">
          <span className="font-medium">Credits added</span>
          <span className="text-2xl font-semibold" data-testid="receipt-amount">
            {usdFromCents(topup.amountCents)}
          </span>
        </div>
      </article>
    </div>
  );
}
