"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import Link from "next/link";
import { useState } from "react";
import { ErrorText, PageHeader, Spinner } from "@/app/_components/ui";
import { utcFromInput } from "@/app/_lib/dates";
import { formatDateTime, formatPricePer1k, formatPricePer1M, pricePer1MDecimal } from "@/app/_lib/format";
import { formError } from "@/app/_lib/form-errors";
import { useTRPC } from "@/app/_lib/trpc";
import type { AppRouter } from "@/server/api/root";
import { can, type Role } from "@/server/auth/permissions";
import { PRICE_NOTICE_MS } from "@/server/catalog/price-in-force";
import { ListingForm } from "../listing-form";
import { statusStyle } from "../models-list";

export function ManageListing({ id, orgSlug, role }: { id: string; orgSlug: string; role: Role }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const listing = useQuery(trpc.catalog.get.queryOptions({ id }));
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.catalog.pathKey() });
  const [saved, setSaved] = useState(false);
  const update = useMutation(trpc.catalog.update.mutationOptions({ onSuccess: () => (setSaved(true), refresh()) }));
  const setStatus = useMutation(trpc.catalog.setStatus.mutationOptions({ onSuccess: refresh }));
  const test = useMutation(trpc.catalog.testConnection.mutationOptions());
  const canEdit = can(role, "listings.manage");
  const canPublish = can(role, "listings.publish");

  if (listing.isLoading) return <Spinner />;
  if (listing.error || !listing.data) return <ErrorText>{listing.error?.message ?? "Listing not found"}</ErrorText>;
  const l = listing.data;

  return (
    <>
      <PageHeader
        title={l.name}
        description={
          <>
            <code className="rounded bg-slate-100 px-1">{l.slug}</code>{" "}
            <span className={`ml-1 rounded px-1.5 py-0.5 text-xs ${statusStyle[l.status]}`} data-testid="listing-status">
              {l.status}
            </span>
            {l.status !== "draft" && (
              <Link className="ml-2 text-indigo-700 hover:underline" href={`/m/${l.slug}`}>
                View on the marketplace
              </Link>
            )}
          </>
        }
        actions={
          <Link href="/models" className="btn-secondary">
            All models
          </Link>
        }
      />

      <div className="grid gap-6 lg:grid-cols-2">
        <section className="card space-y-3">
          <h2 className="font-semibold">Connection</h2>
          <p className="text-sm text-slate-600">
            Calls the upstream&apos;s <code>/models</code> and a one-token request with the saved key, as the proxy would.
          </p>
          {canEdit && (
            <button className="btn-secondary" onClick={() => test.mutate({ id })} disabled={test.isPending} data-testid="test-connection">
              {test.isPending ? "Testing…" : "Test connection"}
            </button>
          )}
          <ErrorText>{test.error?.message}</ErrorText>
          {test.data && (
            <div data-testid="connection-result" data-ok={String(test.data.ok)} className="space-y-1 text-sm">
              <p className={test.data.ok ? "font-medium text-emerald-700" : "font-medium text-red-700"}>{test.data.ok ? "Connected" : "Connection failed"}</p>
              <ul className="space-y-1">
                {test.data.checks.map((c) => (
                  <li key={c.name} className="flex flex-wrap gap-x-3" data-testid="connection-check">
                    <span>
                      {c.ok ? "✓" : "✗"} {c.name}
                    </span>
                    <span className="text-slate-500">status {c.status ?? "—"}</span>
                    <span className="text-slate-500" data-testid="connection-latency">
                      {c.latencyMs} ms
                    </span>
                    {!c.ok && <span className="w-full text-xs text-red-700">{c.detail}</span>}
                  </li>
                ))}
              </ul>
            </div>
          )}
        </section>

        <section className="card space-y-3">
          <h2 className="font-semibold">Status</h2>
          <p className="text-sm text-slate-600">
            {l.status === "draft" && "A draft is visible only to your organisation."}
            {l.status === "published" && "Published: on the marketplace and served by the proxy."}
            {l.status === "paused" && "Paused: still listed, but the proxy does not serve it."}
          </p>
          {canPublish ? (
            <div className="flex gap-2">
              {l.status !== "published" && (
                <button
                  className="btn-primary"
                  onClick={() => setStatus.mutate({ id, status: "published" })}
                  disabled={setStatus.isPending}
                  data-testid="publish"
                >
                  Publish
                </button>
              )}
              {l.status === "published" && (
                <button className="btn-secondary" onClick={() => setStatus.mutate({ id, status: "paused" })} disabled={setStatus.isPending} data-testid="pause">
                  Pause
                </button>
              )}
              {l.status !== "draft" && (
                <button className="btn-secondary" onClick={() => setStatus.mutate({ id, status: "draft" })} disabled={setStatus.isPending}>
                  Back to draft
                </button>
              )}
            </div>
          ) : (
            <p className="text-sm text-slate-500">An owner of your organisation publishes and pauses listings.</p>
          )}
          <ErrorText>{setStatus.error?.message}</ErrorText>
        </section>
      </div>

      <Prices id={id} listing={l} canPublish={canPublish} onChanged={refresh} />

      {canEdit && (
        <div className="space-y-3">
          <h2 className="text-lg font-semibold">Details</h2>
          {saved && !update.isPending && (
            <p className="text-sm text-emerald-700" data-testid="listing-saved">
              Saved.
            </p>
          )}
          <ListingForm
            key={l.updatedAt.toISOString()}
            existing={l}
            orgSlug={orgSlug}
            pending={update.isPending}
            error={update.error?.message}
            submitLabel="Save changes"
            onSubmit={(s) => s.kind === "update" && (setSaved(false), update.mutate(s.input))}
          />
        </div>
      )}
    </>
  );
}

type Listing = inferRouterOutputs<AppRouter>["catalog"]["get"];

const priceLabels = { "prices.input": "Input", "prices.output": "Output", "prices.cachedInput": "Cached input", effectiveFrom: "From (UTC)" };

/** The current minute in UTC as a datetime-local value, the earliest a change may start. */
const utcInputNow = () => new Date().toISOString().slice(0, 16);

function Prices({ id, listing, canPublish, onChanged }: { id: string; listing: Listing; canPublish: boolean; onChanged: () => void }) {
  const trpc = useTRPC();
  const [when, setWhen] = useState<"now" | "later">("now");
  const change = useMutation(trpc.catalog.changePrice.mutationOptions({ onSuccess: onChanged }));
  const cancel = useMutation(trpc.catalog.cancelScheduledPrice.mutationOptions({ onSuccess: onChanged }));
  const now = new Date();
  const current = listing.currentPrice;
  return (
    <section className="card space-y-4">
      <h2 className="font-semibold">Prices</h2>
      <table className="data-table text-sm" data-testid="price-history">
        <thead>
          <tr>
            <th>Effective from</th>
            <th className="text-right">Input $/1M</th>
            <th className="text-right">Output $/1M</th>
            <th className="text-right">Cached $/1M</th>
            <th className="text-right">Input $/1k</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {[...listing.priceHistory].reverse().map((v) => (
            <tr key={v.effectiveFrom.toISOString()} data-testid="price-version">
              <td>{formatDateTime(v.effectiveFrom)}</td>
              <td className="text-right tabular-nums">{formatPricePer1M(v.inputPer1kNano)}</td>
              <td className="text-right tabular-nums">{formatPricePer1M(v.outputPer1kNano)}</td>
              <td className="text-right tabular-nums">{formatPricePer1M(v.cachedInputPer1kNano)}</td>
              <td className="text-right tabular-nums">{formatPricePer1k(v.inputPer1kNano)}</td>
              <td className="whitespace-nowrap text-xs text-slate-500">
                {v.effectiveFrom > now ? "scheduled" : current && v.effectiveFrom.getTime() === current.effectiveFrom.getTime() ? "current" : ""}
                {canPublish && v.effectiveFrom > now && (
                  <button
                    className="ml-2 text-indigo-700 hover:underline"
                    data-testid="cancel-scheduled-price"
                    disabled={cancel.isPending}
                    onClick={() => cancel.mutate({ id, effectiveFrom: v.effectiveFrom })}
                  >
                    Cancel
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {canPublish ? (
        <form
          className="space-y-3"
          data-testid="change-price"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            const at = String(f.get("effectiveAt") ?? "");
            change.mutate(
              {
                id,
                prices: {
                  unit: "1M",
                  input: String(f.get("input")),
                  output: String(f.get("output")),
                  cachedInput: String(f.get("cachedInput")),
                },
                effectiveFrom: when === "later" && at ? utcFromInput(at) : undefined,
              },
              { onSuccess: () => setWhen("now") },
            );
          }}
        >
          <h3 className="text-sm font-medium">Change the price ($ per 1M tokens)</h3>
          <div className="grid gap-3 sm:grid-cols-3">
            <div>
              <label className="label" htmlFor="new-input">
                Input
              </label>
              <input
                className="input"
                id="new-input"
                name="input"
                inputMode="decimal"
                required
                defaultValue={current ? pricePer1MDecimal(current.inputPer1kNano) : ""}
              />
            </div>
            <div>
              <label className="label" htmlFor="new-output">
                Output
              </label>
              <input
                className="input"
                id="new-output"
                name="output"
                inputMode="decimal"
                required
                defaultValue={current ? pricePer1MDecimal(current.outputPer1kNano) : ""}
              />
            </div>
            <div>
              <label className="label" htmlFor="new-cached">
                Cached input
              </label>
              <input
                className="input"
                id="new-cached"
                name="cachedInput"
                inputMode="decimal"
                required
                defaultValue={current ? pricePer1MDecimal(current.cachedInputPer1kNano) : "0"}
              />
            </div>
          </div>
          <div className="flex flex-wrap items-center gap-4 text-sm">
            <label className="flex items-center gap-1.5">
              <input type="radio" name="when" checked={when === "now"} onChange={() => setWhen("now")} /> As soon as allowed ({PRICE_NOTICE_MS / 1000} s notice)
            </label>
            <label className="flex items-center gap-1.5">
              <input type="radio" name="when" checked={when === "later"} onChange={() => setWhen("later")} /> From (UTC)
            </label>
            <input
              className="input w-auto"
              type="datetime-local"
              name="effectiveAt"
              aria-label="Effective from (UTC)"
              min={utcInputNow()}
              disabled={when === "now"}
              required={when === "later"}
            />
          </div>
          <p className="text-xs text-slate-500">Past prices are never changed: usage already served keeps the price it was served at.</p>
          <ErrorText testId="change-price-error">{formError(change.error ?? cancel.error, priceLabels)}</ErrorText>
          <button className="btn-primary" type="submit" disabled={change.isPending} data-testid="change-price-submit">
            {change.isPending ? "Saving…" : "Add price version"}
          </button>
        </form>
      ) : (
        <p className="text-sm text-slate-500">An owner of your organisation changes prices.</p>
      )}
    </section>
  );
}
