"use client";
import { useQuery } from "@tanstack/react-query";
import { MoneyCell } from "@/app/_components/money-cell";
import { Field, FilterForm, useFilters } from "@/app/_components/filter-form";
import { Pager, useCursorPages } from "@/app/_components/pager";
import { EmptyState, QueryView } from "@/app/_components/ui";
import { utcDayEnd, utcDayStart } from "@/app/_lib/dates";
import { dateTime } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import type { LedgerTransferCode } from "@/db/schema/ledger";
import { kindLabel, queryString, TransferLink } from "../_components/bits";

type Filters = { code: string; orgId: string; accountId: string; refKind: string; refId: string; from: string; to: string };
const empty: Filters = { code: "", orgId: "", accountId: "", refKind: "", refId: "", from: "", to: "" };

/** Dates are whole days (UTC): from the start of `from` to the end of `to`. */
function toInput(f: Filters) {
  return {
    code: (f.code || null) as LedgerTransferCode | null,
    orgId: f.orgId || null,
    accountId: f.accountId.trim() || null,
    refKind: f.refKind.trim() || null,
    refId: f.refId.trim() || null,
    from: utcDayStart(f.from),
    to: utcDayEnd(f.to),
  };
}

export function JournalBrowser({
  codes,
  organizations,
  initial,
}: {
  codes: readonly LedgerTransferCode[];
  organizations: { id: string; name: string }[];
  initial: Partial<Filters>;
}) {
  const trpc = useTRPC();
  const pages = useCursorPages();
  const filters = useFilters<Filters>(() => ({ ...empty, ...initial }), empty, pages.reset);
  const { draft, set } = filters;
  const input = toInput(filters.applied);
  const page = useQuery(trpc.finance.journal.queryOptions({ ...input, after: pages.cursor, limit: 50 }));
  const csv = `/api/finance/journal${queryString({
    code: input.code,
    orgId: input.orgId,
    accountId: input.accountId,
    refKind: input.refKind,
    refId: input.refId,
    from: input.from?.toISOString(),
    to: input.to?.toISOString(),
  })}`;

  return (
    <section className="card space-y-4">
      <FilterForm filters={filters} className="grid gap-3 sm:grid-cols-4">
        <Field id="j-code" label="Code">
          <select id="j-code" className="input" value={draft.code} onChange={set("code")}>
            <option value="">Any</option>
            {codes.map((c) => (
              <option key={c} value={c}>
                {c}
              </option>
            ))}
          </select>
        </Field>
        <Field id="j-org" label="Organisation">
          <select id="j-org" className="input" value={draft.orgId} onChange={set("orgId")}>
            <option value="">Any</option>
            {organizations.map((o) => (
              <option key={o.id} value={o.id}>
                {o.name}
              </option>
            ))}
          </select>
        </Field>
        <Field id="j-from" label="From">
          <input id="j-from" type="date" className="input" value={draft.from} onChange={set("from")} />
        </Field>
        <Field id="j-to" label="To (inclusive)">
          <input id="j-to" type="date" className="input" value={draft.to} onChange={set("to")} />
        </Field>
        <Field id="j-account" label="Account id">
          <input id="j-account" className="input font-mono" value={draft.accountId} onChange={set("accountId")} />
        </Field>
        <Field id="j-refkind" label="Reference kind">
          <input id="j-refkind" className="input" placeholder="e.g. stripe_checkout_session" value={draft.refKind} onChange={set("refKind")} />
        </Field>
        <Field id="j-refid" label="Reference id">
          <input id="j-refid" className="input font-mono" value={draft.refId} onChange={set("refId")} />
        </Field>
      </FilterForm>
      <div className="flex justify-end">
        <a className="btn-secondary" href={csv} data-testid="journal-csv" download>
          Download CSV
        </a>
      </div>
      <QueryView
        query={page}
        isEmpty={(d) => !d.entries.length}
        empty={<EmptyState title="No transfers match">Loosen the filters or choose another date range.</EmptyState>}
      >
        {(d) => (
          <table className="data-table" data-testid="journal">
            <thead>
              <tr>
                <th>When</th>
                <th>Transfer</th>
                <th>Code</th>
                <th>Debit</th>
                <th>Credit</th>
                <th className="text-right">Amount</th>
                <th>Reference</th>
              </tr>
            </thead>
            <tbody>
              {d.entries.map((e) => (
                <tr key={e.id} data-testid="journal-row" data-code={e.code}>
                  <td className="whitespace-nowrap">{dateTime(e.createdAt)}</td>
                  <td>
                    <TransferLink id={e.id} />
                  </td>
                  <td>
                    {e.code}
                    {e.type !== "single" && <span className="ml-1 text-xs text-slate-500">({e.type.replace("_", " ")})</span>}
                  </td>
                  <td>
                    {kindLabel(e.debit.kind)}
                    <div className="text-xs text-slate-500">{e.debit.orgName ?? "Platform"}</div>
                  </td>
                  <td>
                    {kindLabel(e.credit.kind)}
                    <div className="text-xs text-slate-500">{e.credit.orgName ?? "Platform"}</div>
                  </td>
                  <MoneyCell nano={e.amountNano} />
                  <td className="max-w-52 truncate font-mono text-xs text-slate-500" title={e.refId ?? ""}>
                    {e.refKind ? `${e.refKind}:${e.refId}` : "—"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
      <Pager pages={pages} nextCursor={page.data?.nextCursor} newestFirst />
    </section>
  );
}
