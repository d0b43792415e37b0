"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { MoneyCell } from "@/app/_components/money-cell";
import { EmptyState, ErrorText, QueryView } from "@/app/_components/ui";
import { usdFromCents } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";

const WHY: Record<string, string> = { pay: "Will be paid", below_minimum: "Below the payout minimum", not_onboarded: "No Stripe account with payouts enabled" };

/** Stripe Connect payout runs: preview who is due, then pay them (one run id per run: a resubmit pays nobody twice). */
export function ConnectRun() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const [runId, setRunId] = useState(() => crypto.randomUUID());
  const preview = useQuery(trpc.connect.preview.queryOptions({}));
  const run = useMutation(
    trpc.connect.run.mutationOptions({
      onSuccess: () => {
        setRunId(crypto.randomUUID());
        void qc.invalidateQueries({ queryKey: trpc.connect.preview.queryKey() });
        void qc.invalidateQueries({ queryKey: trpc.payouts.payables.queryKey() });
      },
    }),
  );
  const due = preview.data?.filter((l) => l.decision === "pay") ?? [];
  return (
    <section className="card space-y-3" data-testid="connect-run">
      <h2 className="font-semibold">Stripe Connect payout run</h2>
      <QueryView
        query={preview}
        isEmpty={(d) => !d.length}
        empty={<EmptyState title="No funded earnings">Providers appear once buyers&apos; money stands behind their earnings.</EmptyState>}
      >
        {(d) => (
          <table className="data-table" data-testid="run-preview">
            <thead>
              <tr>
                <th>Provider</th>
                <th className="text-right">Funded</th>
                <th className="text-right">Payout</th>
                <th>Decision</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {d.map((l) => (
                <tr key={l.orgId} data-testid="run-line" data-org={l.orgName} data-decision={l.decision}>
                  <td>{l.orgName}</td>
                  <MoneyCell nano={l.fundedNano} />
                  <MoneyCell cents={l.amountCents} />
                  <td>{WHY[l.decision]}</td>
                  <td className="text-right">
                    {l.decision === "pay" && (
                      <button className="btn-secondary" disabled={run.isPending} onClick={() => run.mutate({ runId, orgId: l.orgId })} data-testid="pay-one">
                        Pay now
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
      <button className="btn-primary" disabled={!due.length || run.isPending} onClick={() => run.mutate({ runId })} data-testid="run-payouts">
        Pay {due.length} provider{due.length === 1 ? "" : "s"}
      </button>
      {run.data && (
        <p className="text-sm" data-testid="run-result">
          {run.data.length} payout{run.data.length === 1 ? "" : "s"} sent:{" "}
          {run.data.map((p) => `${usdFromCents(p.amountCents)} (${p.status.replace("_", " ")})`).join(", ")}
        </p>
      )}
      {run.error && <ErrorText>{run.error.message}</ErrorText>}
    </section>
  );
}
