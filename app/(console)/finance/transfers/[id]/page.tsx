import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import type { ReactNode } from "react";
import { MoneyCell } from "@/app/_components/money-cell";
import { PageHeader } from "@/app/_components/ui";
import { dateTime, usd, usdFromCents } from "@/app/_lib/format";
import { financeAccess } from "../../_components/access";
import { Forbidden, kindLabel, TransferLink } from "../../_components/bits";
import { FinanceNav } from "../../_components/finance-nav";
import { UsageEvents } from "./usage-events";

export const metadata: Metadata = { title: "Transfer" };

type Row = Record<string, unknown>;
const text = (v: unknown) => (v === null || v === undefined ? "—" : v instanceof Date ? dateTime(v) : String(v));

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <>
      <dt className="text-slate-500">{label}</dt>
      <dd className="break-all">{children}</dd>
    </>
  );
}

function Payload({ event }: { event: { id: string; type: string; receivedAt: Date; payload: unknown } }) {
  return (
    <div className="space-y-1" data-testid="stripe-event">
      <div className="text-sm">
        <span className="font-mono" data-testid="stripe-event-id">
          {event.id}
        </span>{" "}
        · <span data-testid="stripe-event-type">{event.type}</span> · received {dateTime(event.receivedAt)}
      </div>
      <pre className="max-h-96 overflow-auto rounded bg-slate-900 p-3 text-xs text-slate-100" data-testid="stripe-event-payload">
        {JSON.stringify(event.payload, null, 2)}
      </pre>
    </div>
  );
}

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { caller, mode } = await financeAccess(`/finance/transfers/${id}`);
  if (mode !== "platform") {
    return (
      <>
        <PageHeader title="Transfer" />
        <Forbidden />
      </>
    );
  }
  const detail = await caller.finance.transfer({ id }).catch(() => null);
  if (!detail) notFound();
  const { transfer: t, source, related } = detail;
  const side = (s: typeof t.debit) => (
    <Link className="text-indigo-700 hover:underline" href={`/finance/accounts/${s.accountId}`}>
      {kindLabel(s.kind)} · {s.orgName ?? "Platform"}
    </Link>
  );
  return (
    <>
      <PageHeader title={`Transfer ${t.id.slice(0, 8)}…`} description="A transfer and the record that caused it." />
      <FinanceNav mode="platform" />
      <div className="space-y-6">
        <section className="card">
          <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-2 text-sm" data-testid="transfer-detail">
            <Field label="Id">
              <span className="font-mono">{t.id}</span>
            </Field>
            <Field label="When">{dateTime(t.createdAt)}</Field>
            <Field label="Code">
              <span data-testid="transfer-code">{t.code}</span> ({t.type.replace("_", " ")})
            </Field>
            <Field label="Amount">
              <span className="font-mono" data-testid="transfer-amount">
                {usd(t.amountNano)}
              </span>
            </Field>
            <Field label="Debit">{side(t.debit)}</Field>
            <Field label="Credit">{side(t.credit)}</Field>
            <Field label="Reference">
              <span className="font-mono">{t.refKind ? `${t.refKind}: ${t.refId}` : "—"}</span>
            </Field>
            {t.pendingId && (
              <Field label="Resolves hold">
                <TransferLink id={t.pendingId}>{t.pendingId}</TransferLink>
              </Field>
            )}
          </dl>
        </section>

        <section className="card space-y-3" data-testid="transfer-source" data-source={source.kind}>
          <h2 className="font-semibold">Source</h2>
          {source.kind === "topup" && (
            <>
              {source.topup ? (
                <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-2 text-sm">
                  <Field label="Top-up">{text(source.topup.id)}</Field>
                  <Field label="Amount">{usdFromCents(source.topup.amount_cents as number)}</Field>
                  <Field label="Status">{text(source.topup.status)}</Field>
                  <Field label="Receipt no.">{text(source.topup.receipt_number)}</Field>
                  <Field label="Payment intent">
                    <span className="font-mono">{text(source.topup.payment_intent_id)}</span>
                  </Field>
                </dl>
              ) : (
                <p className="text-sm text-slate-600">No top-up is stored for this checkout session.</p>
              )}
              <h3 className="pt-2 text-sm font-semibold">Stripe events ({source.events.length})</h3>
              {source.events.map((e) => (
                <Payload key={e.id} event={e} />
              ))}
            </>
          )}
          {source.kind === "payment_adjustment" && (
            <>
              <table className="data-table">
                <thead>
                  <tr>
                    <th>Kind</th>
                    <th>Stripe object</th>
                    <th className="text-right">Amount</th>
                    <th>When</th>
                  </tr>
                </thead>
                <tbody>
                  {source.adjustments.map((a: Row) => (
                    <tr key={String(a.id)}>
                      <td>{text(a.kind)}</td>
                      <td className="font-mono text-xs">{text(a.external_id)}</td>
                      <MoneyCell nano={a.amount_nano as bigint} />
                      <td>{text(a.created_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
              {source.events.map((e) => (
                <Payload key={e.id} event={e} />
              ))}
            </>
          )}
          {source.kind === "payout" &&
            (source.payout ? (
              <dl className="grid grid-cols-[10rem_1fr] gap-x-4 gap-y-2 text-sm" data-testid="payout-record">
                <Field label="Payout">{text(source.payout.id)}</Field>
                <Field label="Provider">{text(source.payout.org_name)}</Field>
                <Field label="Amount">{usd(source.payout.amount_nano as bigint)}</Field>
                <Field label="Paid on">{text(source.payout.paid_on)}</Field>
                <Field label="Bank reference">
                  <span data-testid="payout-bank-reference">{text(source.payout.bank_reference)}</span>
                </Field>
                <Field label="Recorded by">{text(source.payout.created_by_email)}</Field>
              </dl>
            ) : (
              <p className="text-sm text-red-700">The payout record is missing.</p>
            ))}
          {source.kind === "usage" && <UsageEvents transferId={t.id} />}
          {source.kind === "reversal" && (
            <p className="text-sm">
              Reverses transfer <TransferLink id={source.originalId}>{source.originalId}</TransferLink>.
            </p>
          )}
          {source.kind === "pending" && (
            <p className="text-sm">
              Resolves the hold <TransferLink id={source.pendingId}>{source.pendingId}</TransferLink>.
            </p>
          )}
          {source.kind === "none" && <p className="text-sm text-slate-600">This transfer names no source record.</p>}
        </section>

        {related.length > 1 && (
          <section className="card space-y-3">
            <h2 className="font-semibold">Other transfers with the same reference</h2>
            <table className="data-table">
              <thead>
                <tr>
                  <th>Transfer</th>
                  <th>Code</th>
                  <th>Debit</th>
                  <th>Credit</th>
                  <th className="text-right">Amount</th>
                </tr>
              </thead>
              <tbody>
                {related
                  .filter((r) => r.id !== t.id)
                  .map((r) => (
                    <tr key={r.id}>
                      <td>
                        <TransferLink id={r.id} />
                      </td>
                      <td>{r.code}</td>
                      <td>
                        {kindLabel(r.debit.kind)} · {r.debit.orgName ?? "Platform"}
                      </td>
                      <td>
                        {kindLabel(r.credit.kind)} · {r.credit.orgName ?? "Platform"}
                      </td>
                      <MoneyCell nano={r.amountNano} />
                    </tr>
                  ))}
              </tbody>
            </table>
          </section>
        )}
      </div>
    </>
  );
}
