"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { MoneyCell } from "@/app/_components/money-cell";
import { EmptyState, ErrorText, QueryView } from "@/app/_components/ui";
import { formatUsd, usd } from "@/app/_lib/format";
import { formError } from "@/app/_lib/form-errors";
import { useTRPC } from "@/app/_lib/trpc";
import { TransferLink } from "../_components/bits";

const today = () => new Date().toISOString().slice(0, 10);

export function Payouts() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const payables = useQuery(trpc.payouts.payables.queryOptions());
  const list = useQuery(trpc.payouts.list.queryOptions({}));
  // One id per payout being entered: a double submit or a retry records it once.
  const [payoutId, setPayoutId] = useState(() => crypto.randomUUID());
  const [form, setForm] = useState({ orgId: "", amountUsd: "", paidOn: today(), bankReference: "" });
  const record = useMutation(
    trpc.payouts.record.mutationOptions({
      onSuccess: () => {
        setPayoutId(crypto.randomUUID());
        setForm({ orgId: "", amountUsd: "", paidOn: today(), bankReference: "" });
        void qc.invalidateQueries({ queryKey: trpc.payouts.payables.queryKey() });
        void qc.invalidateQueries({ queryKey: trpc.payouts.list.queryKey() });
      },
    }),
  );
  const set = (k: keyof typeof form) => (e: { target: { value: string } }) => setForm({ ...form, [k]: e.target.value });

  return (
    <div className="grid gap-6 lg:grid-cols-3">
      <section className="card space-y-3 lg:col-span-2">
        <h2 className="font-semibold">Payable by provider</h2>
        <QueryView
          query={payables}
          isEmpty={(d) => !d.length}
          empty={<EmptyState title="Nothing owed yet">Providers appear here once their usage has been settled.</EmptyState>}
        >
          {(d) => (
            <table className="data-table" data-testid="payables">
              <thead>
                <tr>
                  <th>Provider</th>
                  <th className="text-right">Payable</th>
                  <th className="text-right">Paid out</th>
                  <th>Last paid</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {d.map((p) => (
                  <tr key={p.orgId} data-testid="payable-row" data-org={p.orgName}>
                    <td>{p.orgName}</td>
                    <MoneyCell nano={p.payableNano} data-testid="payable-amount" />
                    <MoneyCell nano={p.paidNano} />
                    <td>{p.lastPaidOn ?? "—"}</td>
                    <td className="text-right">
                      <button
                        className="btn-secondary"
                        disabled={p.payableNano <= 0n}
                        onClick={() =>
                          setForm({ ...form, orgId: p.orgId, amountUsd: formatUsd(p.payableNano, { symbol: false, minDecimals: 2 }).replace(/,/g, "") })
                        }
                      >
                        Pay
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </QueryView>
      </section>

      <section className="card space-y-3">
        <h2 className="font-semibold">Record a payout</h2>
        <form
          className="space-y-3"
          data-testid="payout-form"
          onSubmit={(e) => {
            e.preventDefault();
            record.mutate({ id: payoutId, ...form });
          }}
        >
          <div>
            <label className="label" htmlFor="p-org">
              Provider
            </label>
            <select id="p-org" className="input" value={form.orgId} onChange={set("orgId")} required>
              <option value="">Choose…</option>
              {payables.data?.map((p) => (
                <option key={p.orgId} value={p.orgId}>
                  {p.orgName}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label className="label" htmlFor="p-amount">
              Amount (USD)
            </label>
            <input id="p-amount" className="input" inputMode="decimal" value={form.amountUsd} onChange={set("amountUsd")} required />
          </div>
          <div>
            <label className="label" htmlFor="p-date">
              Paid on
            </label>
            <input id="p-date" type="date" className="input" value={form.paidOn} onChange={set("paidOn")} required />
          </div>
          <div>
            <label className="label" htmlFor="p-ref">
              Bank reference
            </label>
            <input id="p-ref" className="input" value={form.bankReference} onChange={set("bankReference")} required />
          </div>
          <ErrorText testId="payout-error">
            {formError(record.error, { orgId: "Provider", amountUsd: "Amount (USD)", paidOn: "Paid on", bankReference: "Bank reference" })}
          </ErrorText>
          {record.data && (
            <p className="text-sm text-emerald-700" data-testid="payout-recorded">
              Payout of {usd(record.data.amountNano)} recorded.
            </p>
          )}
          <button className="btn-primary w-full" disabled={record.isPending}>
            {record.isPending ? "Recording…" : "Record payout"}
          </button>
          <p className="text-xs text-slate-500">Posts provider payable → payouts. Send the money through the bank first; this records it.</p>
        </form>
      </section>

      <section className="card space-y-3 lg:col-span-3">
        <h2 className="font-semibold">Payouts</h2>
        {!list.data?.entries.length ? (
          <EmptyState title="No payouts yet" />
        ) : (
          <table className="data-table" data-testid="payouts">
            <thead>
              <tr>
                <th>Paid on</th>
                <th>Provider</th>
                <th className="text-right">Amount</th>
                <th>Bank reference</th>
                <th>Recorded by</th>
                <th>Transfer</th>
              </tr>
            </thead>
            <tbody>
              {list.data.entries.map((p) => (
                <tr key={p.id}>
                  <td>{p.paidOn}</td>
                  <td>{p.orgName}</td>
                  <MoneyCell nano={p.amountNano} />
                  <td>{p.bankReference}</td>
                  <td>{p.createdBy ?? "—"}</td>
                  <td>
                    <TransferLink id={p.transferId} />
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
