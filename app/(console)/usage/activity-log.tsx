"use client";
import { useQuery } from "@tanstack/react-query";
import { useSearchParams } from "next/navigation";
import { MoneyCell } from "@/app/_components/money-cell";
import { LocalTime } from "@/app/_components/time";
import { Field, FilterForm, useFilters } from "@/app/_components/filter-form";
import { Pager, useCursorPages } from "@/app/_components/pager";
import { EmptyState, QueryView } from "@/app/_components/ui";
import { localInput, utcDayEnd, utcDayStart } from "@/app/_lib/dates";
import { usd } from "@/app/_lib/format";
import { live } from "@/app/_lib/live";
import { useTRPC } from "@/app/_lib/trpc";

type Option = { id: string; name: string };
type Draft = { keyId: string; listingId: string; status: string; from: string; to: string };
const emptyDraft: Draft = { keyId: "", listingId: "", status: "", from: "", to: "" };
const PAGE = 25;

/** The filter as the API and the CSV export take it (datetime-local values are the viewer's local time). */
function toFilter(d: Draft) {
  return {
    ...(d.keyId ? { keyId: d.keyId } : {}),
    ...(d.listingId ? { listingId: d.listingId } : {}),
    ...(d.status ? { status: d.status as "ok" | "error" | "aborted" } : {}),
    ...(d.from ? { from: new Date(d.from) } : {}),
    ...(d.to ? { to: new Date(d.to) } : {}),
  };
}

function exportHref(filter: ReturnType<typeof toFilter>) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) q.set(k, v instanceof Date ? v.toISOString() : String(v));
  const s = q.toString();
  return `/api/usage/export${s ? `?${s}` : ""}`;
}

const statusStyle: Record<string, string> = {
  ok: "bg-emerald-50 text-emerald-700",
  error: "bg-red-50 text-red-700",
  aborted: "bg-amber-50 text-amber-800",
};

/** `?day=YYYY-MM-DD` (a statement's usage line links here): that UTC day's requests. */
function draftFromUrl(day: string | null): Draft {
  const from = day ? utcDayStart(day) : null;
  const to = day ? utcDayEnd(day) : null;
  return from && to ? { ...emptyDraft, from: localInput(from), to: localInput(to) } : emptyDraft;
}

export function ActivityLog({ keys, listings }: { keys: Option[]; listings: Option[] }) {
  const trpc = useTRPC();
  const day = useSearchParams().get("day");
  const pages = useCursorPages();
  const filters = useFilters<Draft>(() => draftFromUrl(day), emptyDraft, pages.reset);
  const { draft, set } = filters;
  const filter = toFilter(filters.applied);
  const page = useQuery({ ...trpc.dashboards.activity.queryOptions({ filter, cursor: pages.cursor ?? undefined, limit: PAGE }), ...live });
  const totals = useQuery({ ...trpc.dashboards.activityTotals.queryOptions({ filter }), ...live });

  return (
    <section className="card space-y-4" data-testid="activity-log">
      <div className="flex flex-wrap items-end justify-between gap-3">
        <h2 className="font-semibold">Activity</h2>
        <a className="btn-secondary" href={exportHref(filter)} data-testid="activity-export" download>
          Export CSV
        </a>
      </div>
      <FilterForm filters={filters} className="grid gap-3 sm:grid-cols-3 lg:grid-cols-6">
        <Field id="f-key" label="Key">
          <select id="f-key" className="input" value={draft.keyId} onChange={set("keyId")}>
            <option value="">All keys</option>
            {keys.map((k) => (
              <option key={k.id} value={k.id}>
                {k.name}
              </option>
            ))}
          </select>
        </Field>
        <Field id="f-listing" label="Model">
          <select id="f-listing" className="input" value={draft.listingId} onChange={set("listingId")}>
            <option value="">All models</option>
            {listings.map((l) => (
              <option key={l.id} value={l.id}>
                {l.name}
              </option>
            ))}
          </select>
        </Field>
        <Field id="f-status" label="Status">
          <select id="f-status" className="input" value={draft.status} onChange={set("status")}>
            <option value="">Any</option>
            <option value="ok">ok</option>
            <option value="error">error</option>
            <option value="aborted">aborted</option>
          </select>
        </Field>
        <Field id="f-from" label="From">
          <input id="f-from" className="input" type="datetime-local" value={draft.from} onChange={set("from")} />
        </Field>
        <Field id="f-to" label="To">
          <input id="f-to" className="input" type="datetime-local" value={draft.to} onChange={set("to")} />
        </Field>
      </FilterForm>

      {totals.data && (
        <p className="text-sm text-slate-600" data-testid="activity-totals">
          <strong data-testid="activity-total-requests">{totals.data.requests.toLocaleString()}</strong> requests ·{" "}
          {(totals.data.inputTokens + totals.data.cachedInputTokens).toLocaleString()} tokens in · {totals.data.outputTokens.toLocaleString()} out ·{" "}
          <strong data-testid="activity-total-cost">{usd(totals.data.costNano)}</strong>
        </p>
      )}

      <QueryView
        query={page}
        loading="Loading requests…"
        isEmpty={(d) => !d.rows.length}
        empty={<EmptyState title="No requests match">Requests made with your keys appear here within seconds of finishing.</EmptyState>}
      >
        {(d) => (
          <>
            <div className="overflow-x-auto">
              <table className="data-table stack-table" data-testid="activity-table">
                <thead>
                  <tr>
                    <th>Time</th>
                    <th>Key</th>
                    <th>Model</th>
                    <th>Provider</th>
                    <th className="text-right">In</th>
                    <th className="text-right">Out</th>
                    <th className="text-right">Cached</th>
                    <th className="text-right">Cost</th>
                    <th className="text-right">Latency</th>
                    <th className="text-right">TTFT</th>
                    <th>Status</th>
                  </tr>
                </thead>
                <tbody>
                  {d.rows.map((r) => (
                    <tr key={r.id} data-testid="activity-row">
                      <td className="whitespace-nowrap font-medium sm:font-normal">
                        <LocalTime date={r.startedAt} />
                      </td>
                      <td data-label="Key">{r.keyName}</td>
                      <td data-label="Model" className="font-mono text-xs max-sm:break-all">
                        {r.listingSlug}
                      </td>
                      <td data-label="Provider">{r.providerName}</td>
                      <td data-label="In" className="text-right tabular-nums">
                        {r.inputTokens.toLocaleString()}
                      </td>
                      <td data-label="Out" className="text-right tabular-nums">
                        {r.outputTokens.toLocaleString()}
                      </td>
                      <td data-label="Cached" className="text-right tabular-nums">
                        {r.cachedInputTokens.toLocaleString()}
                      </td>
                      <MoneyCell nano={r.costNano} digits="tabular" data-label="Cost" data-testid="activity-cost" />
                      <td data-label="Latency" className="text-right tabular-nums">
                        {r.latencyMs.toLocaleString()} ms
                      </td>
                      <td data-label="TTFT" className="text-right tabular-nums">
                        {r.ttftMs === null ? "—" : `${r.ttftMs.toLocaleString()} ms`}
                      </td>
                      <td data-label="Status" className="whitespace-nowrap">
                        <span className={`rounded px-1.5 py-0.5 text-xs ${statusStyle[r.status]}`}>{r.status}</span>
                        {r.estimated && (
                          <span
                            className="ml-1 rounded bg-slate-100 px-1.5 py-0.5 text-xs text-slate-600"
                            title="The upstream sent no usage; tokens were counted by our tokenizer"
                          >
                            estimated
                          </span>
                        )}
                        {r.settling && (
                          <span
                            className="ml-1 rounded bg-amber-50 px-1.5 py-0.5 text-xs text-amber-700"
                            title="Billed at this cost; it reaches the ledger with the next settlement window, within seconds"
                          >
                            settling
                          </span>
                        )}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager pages={pages} nextCursor={d.nextCursor} newestFirst align="end" />
          </>
        )}
      </QueryView>
    </section>
  );
}
