"use client";
import { useMutation, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { MoneyCell } from "@/app/_components/money-cell";
import { LocalTime } from "@/app/_components/time";
import { ErrorText, Spinner } from "@/app/_components/ui";
import { StatCard } from "@/app/_components/stat-card";
import { usd } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";

const STATUS: Record<string, string> = {
  created: "Sending",
  in_transit: "In transit",
  paid: "Paid",
  failed: "Failed (returned to your balance)",
  reversed: "Reversed (returned to your balance)",
  recorded: "Paid by bank transfer",
};

/** Funded and unfunded earnings, payouts and Stripe Connect, for a provider's owners and finance members. */
export function ProviderPayouts({ canConnect }: { canConnect: boolean }) {
  const trpc = useTRPC();
  const earnings = useQuery(trpc.connect.earnings.queryOptions());
  const status = useQuery(trpc.connect.status.queryOptions());
  const link = useMutation(trpc.connect.onboardingLink.mutationOptions({ onSuccess: ({ url }) => window.location.assign(url) }));

  if (earnings.isLoading || status.isLoading) return <Spinner label="Loading payouts…" />;
  if (earnings.error || status.error) return <ErrorText>{(earnings.error ?? status.error)!.message}</ErrorText>;
  const e = earnings.data!;
  const s = status.data ?? null;
  return (
    <div className="mt-6 space-y-6">
      <section className="card space-y-3" data-testid="connect">
        <h2 className="font-semibold">Getting paid</h2>
        {s?.payoutsEnabled ? (
          <p className="text-sm" data-testid="connect-state">
            Stripe account {s.accountId} is connected: payouts are enabled.
          </p>
        ) : (
          <p className="text-sm text-slate-600" data-testid="connect-state">
            {s ? `Stripe account ${s.accountId}: onboarding is not finished yet.` : "Connect a Stripe account to receive payouts."}
          </p>
        )}
        {canConnect && !s?.payoutsEnabled && (
          <button className="btn-primary" onClick={() => link.mutate()} disabled={link.isPending} data-testid="connect-button">
            {s ? "Continue onboarding" : "Connect with Stripe"}
          </button>
        )}
        {link.error && <ErrorText>{link.error.message}</ErrorText>}
      </section>

      <div className="grid gap-4 sm:grid-cols-2 lg:grid-cols-5">
        <StatCard label="Funded" value={usd(e.fundedNano)} hint="buyers have paid for it: payable now" testId="earnings-funded" />
        <StatCard label="Unfunded" value={usd(e.unfundedNano)} hint="waiting for buyers' payments" testId="earnings-unfunded" />
        <StatCard label="Paid" value={usd(e.paidNano)} testId="earnings-paid" />
        <StatCard label="In transit" value={usd(e.inTransitNano)} testId="earnings-in-transit" />
        <StatCard label="Failed or reversed" value={usd(e.failedNano)} hint="returned to your funded balance" testId="earnings-failed" />
      </div>

      {e.waiting.length > 0 && (
        <section className="card space-y-2" data-testid="unfunded-why">
          <h2 className="font-semibold">Why some earnings wait</h2>
          <p className="text-sm text-slate-600">
            These were earned on usage a buyer&apos;s credit did not cover. They become payable, oldest first, as the buyer pays what they owe.
          </p>
          <ul className="text-sm">
            {e.waiting.map((w, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: read-only rows that may repeat exactly and are never reordered
              <li key={i}>
                {usd(w.unfundedNano)} from {w.settlements} settlement{w.settlements === 1 ? "" : "s"} since <LocalTime date={w.since} />, awaiting one
                buyer&apos;s payment
              </li>
            ))}
          </ul>
        </section>
      )}

      <section className="card space-y-3">
        <h2 className="font-semibold">Payouts</h2>
        {e.payouts.length === 0 ? (
          <p className="text-sm text-slate-600">No payouts yet.</p>
        ) : (
          <table className="data-table" data-testid="payout-history">
            <thead>
              <tr>
                <th>Date</th>
                <th>Status</th>
                <th>Reference</th>
                <th className="text-right">Amount</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {e.payouts.map((x) => (
                <tr key={x.id} data-testid="payout-row">
                  <td>
                    <LocalTime date={x.createdAt} />
                  </td>
                  <td data-testid="payout-status">
                    {STATUS[x.status] ?? x.status}
                    {x.failureReason ? `: ${x.failureReason}` : ""}
                  </td>
                  <td className="font-mono text-xs">{[x.reference, x.stripePayoutId].filter(Boolean).join(" · ") || "—"}</td>
                  <MoneyCell nano={x.amountNano} digits="tabular" />
                  <td className="text-right">
                    <Link href={`/earnings/payouts/${x.id}`} data-testid="payout-statement-link">
                      Statement
                    </Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </div>
  );
}
