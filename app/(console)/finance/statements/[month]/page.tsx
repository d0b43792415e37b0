import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { MoneyCell } from "@/app/_components/money-cell";
import { PrintButton } from "@/app/(console)/credits/receipts/[id]/print-button";
import { formatDate, usd, usdFromCents } from "@/app/_lib/format";
import { financeAccess } from "../../_components/access";
import { Forbidden, kindLabel } from "../../_components/bits";
import { BuyerStatement } from "../../_components/buyer-lines";

export const metadata: Metadata = { title: "Monthly statement" };

export default async function Page({ params }: { params: Promise<{ month: string }> }) {
  const { month } = await params;
  const { caller, org, mode } = await financeAccess(`/finance/statements/${month}`);
  if (mode !== "org") return <Forbidden />;
  const s = await caller.finance.myMonthly({ month }).catch(() => null);
  if (!s) notFound();
  const last = new Date(s.endsAt.getTime() - 1).toISOString().slice(0, 10);
  return (
    <div className="mx-auto max-w-3xl">
      <div className="mb-4 flex justify-between print:hidden">
        <Link href="/finance" className="text-sm text-indigo-700 hover:underline">
          ← Finance
        </Link>
        <PrintButton />
      </div>
      <article className="card space-y-8 p-4 sm:p-8 print:border-0 print:shadow-none" data-testid="monthly-statement">
        <header className="flex items-start justify-between">
          <div>
            <div className="text-lg font-semibold">tokenmarket</div>
            <div className="text-sm text-slate-500">Monthly statement</div>
          </div>
          <div className="text-right text-sm">
            <div className="font-medium">{org.name}</div>
            <div className="text-slate-500">
              {s.month}-01 to {last} (UTC)
            </div>
          </div>
        </header>

        {s.accounts.length === 0 && <p className="text-sm text-slate-600">No money moved on your accounts by the end of this month.</p>}
        {s.buyer && (
          <section className="space-y-2">
            <h2 className="font-semibold">Your credit</h2>
            <BuyerStatement s={s.buyer} current={s.endsAt.getTime() > Date.now()} />
          </section>
        )}
        {s.accounts
          .filter((a) => a.kind !== "buyer_credits" && a.kind !== "buyer_receivable")
          .map((a) => (
            <section key={a.accountId} className="space-y-2">
              <h2 className="font-semibold capitalize">{kindLabel(a.kind)}</h2>
              <table className="data-table">
                <tbody>
                  <tr>
                    <td>Opening balance</td>
                    <td />
                    <MoneyCell nano={a.openingNano} />
                  </tr>
                  {a.byCode.map((c) => (
                    <tr key={c.code}>
                      <td className="pl-6">
                        {c.code} ({c.count})
                      </td>
                      <td className="text-right font-mono text-slate-500">
                        {c.increaseNano ? `+${usd(c.increaseNano)}` : ""} {c.decreaseNano ? `−${usd(c.decreaseNano)}` : ""}
                      </td>
                      <td />
                    </tr>
                  ))}
                  <tr className="font-semibold">
                    <td>Closing balance</td>
                    <td />
                    <MoneyCell nano={a.closingNano} data-testid={`closing-${a.kind}`} />
                  </tr>
                </tbody>
              </table>
            </section>
          ))}

        {s.topups.length > 0 && (
          <section className="space-y-2">
            <h2 className="font-semibold">Top-ups</h2>
            <table className="data-table stack-table">
              <thead>
                <tr>
                  <th>Paid</th>
                  <th>Receipt</th>
                  <th className="text-right">Amount</th>
                  <th className="text-right">Refunded</th>
                </tr>
              </thead>
              <tbody>
                {s.topups.map((t) => (
                  <tr key={t.id}>
                    <td className="font-medium sm:font-normal">{formatDate(t.paidAt)}</td>
                    <td data-label="Receipt">
                      <Link className="text-indigo-700 hover:underline" href={`/credits/receipts/${t.id}`}>
                        No. {t.receiptNumber}
                      </Link>
                    </td>
                    <MoneyCell cents={t.amountCents} data-label="Amount" />
                    <td data-label="Refunded" className="text-right font-mono">
                      {t.refundedCents ? usdFromCents(t.refundedCents) : "—"}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}

        {s.usage.length > 0 && (
          <section className="space-y-2">
            <h2 className="font-semibold">Usage by key and listing</h2>
            <table className="data-table stack-table">
              <thead>
                <tr>
                  <th>Key</th>
                  <th>Listing</th>
                  <th className="text-right">Requests</th>
                  <th className="text-right">Cost</th>
                </tr>
              </thead>
              <tbody>
                {s.usage.map((u) => (
                  <tr key={`${u.keyId}-${u.listingSlug}`}>
                    <td className="font-medium sm:font-normal">{u.keyName}</td>
                    <td data-label="Listing" className="max-sm:break-all">
                      {u.listingSlug}
                    </td>
                    <td data-label="Requests" className="text-right">
                      {u.requests.toString()}
                    </td>
                    <MoneyCell nano={u.costNano} data-label="Cost" />
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}

        {s.payouts.length > 0 && (
          <section className="space-y-2">
            <h2 className="font-semibold">Payouts</h2>
            <table className="data-table">
              <thead>
                <tr>
                  <th>Paid on</th>
                  <th>Bank reference</th>
                  <th className="text-right">Amount</th>
                </tr>
              </thead>
              <tbody>
                {s.payouts.map((p) => (
                  <tr key={p.id}>
                    <td>{p.paidOn}</td>
                    <td>{p.bankReference}</td>
                    <MoneyCell nano={p.amountNano} />
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
      </article>
    </div>
  );
}
