"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { EmptyState, ErrorText, QueryView, Spinner } from "@/app/_components/ui";
import { heldCreditText } from "@/app/_components/held-credit";
import { StatCard } from "@/app/_components/stat-card";
import { dateTime, formatUsd, usd, usdFromCents } from "@/app/_lib/format";
import { formError } from "@/app/_lib/form-errors";
import { useTRPC } from "@/app/_lib/trpc";
import { PaymentOutcome } from "./payment-outcome";

const presets = ["10", "25", "100", "500"];

const statusStyle: Record<string, string> = {
  paid: "bg-emerald-50 text-emerald-700",
  open: "bg-slate-100 text-slate-700",
  failed: "bg-red-50 text-red-700",
  expired: "bg-slate-100 text-slate-500",
  canceled: "bg-slate-100 text-slate-500",
};

/** `returned`: the top-up whose checkout the buyer just came back from, if any. */
export function CreditsView({ returned }: { returned: { topupId: string; leftCheckout: boolean } | null }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const router = useRouter();
  const balance = useQuery(trpc.credits.balance.queryOptions());
  const topups = useQuery(trpc.credits.topups.queryOptions());
  const [amount, setAmount] = useState("25");
  const create = useMutation(
    trpc.credits.createTopUp.mutationOptions({
      onSuccess: (r) => {
        if (r.checkoutUrl.startsWith("/")) router.push(r.checkoutUrl);
        else window.location.assign(r.checkoutUrl);
      },
    }),
  );
  const cancel = useMutation(trpc.credits.cancelTopUp.mutationOptions({ onSuccess: () => qc.invalidateQueries({ queryKey: trpc.credits.pathKey() }) }));
  const threshold = useMutation(
    trpc.credits.setLowBalanceThreshold.mutationOptions({ onSuccess: () => qc.invalidateQueries({ queryKey: trpc.credits.balance.queryKey() }) }),
  );

  if (balance.isLoading) return <Spinner label="Loading balance…" />;
  if (balance.error) return <ErrorText>{balance.error.message}</ErrorText>;
  const b = balance.data!;

  return (
    <div className="space-y-6">
      {returned && <PaymentOutcome key={returned.topupId} {...returned} />}
      {b.blocked ? (
        <div data-testid="balance-blocked" className="rounded-md border border-red-300 bg-red-50 px-4 py-3 text-sm text-red-800">
          <strong>Your balance is negative ({usd(b.availableNano)}).</strong> A refund or dispute took more than the remaining credit. New API requests are
          refused until a top-up brings the balance above zero.
        </div>
      ) : b.low ? (
        <div data-testid="balance-low" className="rounded-md border border-amber-300 bg-amber-50 px-4 py-3 text-sm text-amber-900">
          Your available balance is below {usd(b.lowThresholdNano)}. Top up to keep requests flowing.
        </div>
      ) : null}

      <div className="grid gap-4 sm:grid-cols-3">
        <StatCard look="balance" label="Balance" value={usd(b.balanceNano)} testId="balance" strong hint="Credit paid in, less what your requests used." />
        <StatCard
          look="balance"
          label="Set aside for requests"
          value={usd(b.reservedNano)}
          testId="balance-reserved"
          hint={heldCreditText(b.reservedNano) ?? "Nothing is held right now."}
        />
        <StatCard look="balance" label="Credit limit" value={usd(b.creditLimitNano)} testId="balance-limit" />
      </div>

      <div className="grid gap-6 lg:grid-cols-3">
        <section className="card space-y-4">
          <h2 className="font-semibold">Add credits</h2>
          {b.paymentsMode === "local" && <p className="rounded bg-sky-50 px-3 py-2 text-xs text-sky-800">Local test payments: no real money moves.</p>}
          {b.canTopUp && b.limits ? (
            <form
              className="space-y-3"
              onSubmit={(e) => {
                e.preventDefault();
                create.mutate({ amountUsd: amount });
              }}
            >
              <div className="flex flex-wrap gap-2">
                {presets.map((p) => (
                  <button
                    key={p}
                    type="button"
                    onClick={() => setAmount(p)}
                    className={`btn ${amount === p ? "bg-indigo-600 text-white" : "border border-slate-300 bg-white"}`}
                  >
                    ${p}
                  </button>
                ))}
              </div>
              <label className="label" htmlFor="amount">
                Amount (USD)
              </label>
              <input id="amount" className="input" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
              <p className="text-xs text-slate-500">
                Between {usdFromCents(b.limits.minCents)} and {usdFromCents(b.limits.maxCents)}.
              </p>
              <ErrorText>{formError(create.error, { amountUsd: "Amount (USD)" })}</ErrorText>
              <button className="btn-primary w-full" disabled={create.isPending}>
                {create.isPending ? "Opening checkout…" : "Continue to payment"}
              </button>
            </form>
          ) : b.topUpsOff ? (
            <p className="text-sm text-slate-600" data-testid="topups-off">
              Top-ups are not available: this platform has no payment provider configured.
            </p>
          ) : (
            <p className="text-sm text-slate-600">Owners and finance members can add credits.</p>
          )}
        </section>

        <section className="card space-y-4 lg:col-span-2">
          <h2 className="font-semibold">Top-ups</h2>
          <QueryView query={topups} isEmpty={(d) => !d.length} empty={<EmptyState title="No top-ups yet">Paid top-ups appear here with a receipt.</EmptyState>}>
            {(d) => (
              <table className="data-table" data-testid="topups">
                <thead>
                  <tr>
                    <th>Date</th>
                    <th>Amount</th>
                    <th>Status</th>
                    <th />
                  </tr>
                </thead>
                <tbody>
                  {d.map((t) => (
                    <tr key={t.id}>
                      <td>{dateTime(t.createdAt)}</td>
                      <td className="font-mono">{usdFromCents(t.amountCents)}</td>
                      <td>
                        <span data-testid="topup-status" className={`rounded px-2 py-0.5 text-xs font-medium ${statusStyle[shown(t)] ?? ""}`}>
                          {shown(t)}
                        </span>
                        {t.resumable && <span className="ml-2 text-xs text-slate-500">payable until {dateTime(t.expiresAt)}</span>}
                        {t.refundedCents > 0 && <span className="ml-2 text-xs text-slate-500">{usdFromCents(t.refundedCents)} reversed</span>}
                      </td>
                      <td className="space-x-3 whitespace-nowrap text-right">
                        {t.status === "paid" && (
                          <Link className="text-sm text-indigo-700 hover:underline" href={`/credits/receipts/${t.id}`}>
                            Receipt
                          </Link>
                        )}
                        {t.resumable && t.checkoutUrl && b.canTopUp && (
                          <>
                            <a className="text-sm text-indigo-700 hover:underline" href={t.checkoutUrl}>
                              Resume
                            </a>
                            <button
                              className="text-sm text-slate-600 hover:underline"
                              disabled={cancel.isPending}
                              onClick={() => cancel.mutate({ topupId: t.id })}
                            >
                              Cancel
                            </button>
                          </>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
          </QueryView>
          <ErrorText>{cancel.error?.message}</ErrorText>
          {b.canTopUp && (
            <form
              className="flex flex-wrap items-end gap-2 border-t border-slate-100 pt-4"
              onSubmit={(e) => {
                e.preventDefault();
                threshold.mutate({ thresholdUsd: String(new FormData(e.currentTarget).get("threshold")) });
              }}
            >
              <div>
                <label className="label" htmlFor="threshold">
                  Warn me below (USD)
                </label>
                <input id="threshold" name="threshold" className="input w-40" defaultValue={formatUsd(b.lowThresholdNano, { symbol: false })} />
              </div>
              <button className="btn-secondary" disabled={threshold.isPending}>
                Save
              </button>
              <ErrorText>{formError(threshold.error, { thresholdUsd: "Warn me below (USD)" })}</ErrorText>
            </form>
          )}
        </section>
      </div>
    </div>
  );
}

/** An open top-up past its 24 hours reads as expired before the worker's next sweep marks it. */
const shown = (t: { status: string; resumable: boolean }) => (t.status === "open" && !t.resumable ? "expired" : t.status);
