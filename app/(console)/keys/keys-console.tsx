"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import type { inferRouterOutputs } from "@trpc/server";
import { useState } from "react";
import { EmptyState, ErrorText, QueryView } from "@/app/_components/ui";
import { formError } from "@/app/_lib/form-errors";
import { useTRPC } from "@/app/_lib/trpc";
import type { AppRouter } from "@/server/api/root";
import { utcDayEnd } from "@/app/_lib/dates";
import { formatDate, formatDateTime, formatUsd } from "@/app/_lib/format";
import { limitLabels, LimitsFields, periodLabel, readLimits } from "./limits-form";

type KeyRow = inferRouterOutputs<AppRouter>["keys"]["list"][number];
type Revealed = { name: string; secret: string; note?: string };
type RevealProps = { revealed: Revealed; onDone: () => void; baseUrl: string };

const graceOptions = [
  { seconds: 0, label: "Revoke the old key now" },
  { seconds: 3600, label: "Keep the old key for 1 hour" },
  { seconds: 86_400, label: "Keep the old key for 24 hours" },
  { seconds: 7 * 86_400, label: "Keep the old key for 7 days" },
];

/** `baseUrl`: the proxy as buyers reach it (GATEWAY_PUBLIC_URL), shown beside a new key. */
export function KeysConsole({ canManage, baseUrl }: { canManage: boolean; baseUrl: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const keys = useQuery(trpc.keys.list.queryOptions());
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.keys.list.queryKey() });
  const [creating, setCreating] = useState(false);
  const [revealed, setRevealed] = useState<Revealed | null>(null);

  const create = useMutation(
    trpc.keys.create.mutationOptions({
      onSuccess: (k) => {
        setRevealed({ name: k.name, secret: k.secret });
        setCreating(false);
        void refresh();
      },
    }),
  );

  const createButton = canManage && !creating && (
    <button
      className="btn-primary"
      data-testid="new-key"
      onClick={() => {
        setCreating(true);
        setRevealed(null);
      }}
    >
      Create key
    </button>
  );

  return (
    <div className="space-y-6">
      {revealed && <SecretReveal revealed={revealed} onDone={() => setRevealed(null)} baseUrl={baseUrl} />}

      {creating && (
        <section className="card space-y-4" data-testid="create-key-form">
          <h2 className="font-semibold">New API key</h2>
          <form
            className="space-y-4"
            onSubmit={(e) => {
              e.preventDefault();
              const form = new FormData(e.currentTarget);
              const expires = String(form.get("expiresOn") ?? "");
              create.mutate({ ...readLimits(form), expiresAt: utcDayEnd(expires) });
            }}
          >
            <LimitsFields
              idPrefix="create"
              extra={
                <div>
                  <label className="label" htmlFor="create-expires">
                    Expires after (optional)
                  </label>
                  <input className="input" id="create-expires" name="expiresOn" type="date" min={new Date().toISOString().slice(0, 10)} />
                  <p className="mt-1 text-xs text-slate-500">The key stops working at the end of that day (UTC).</p>
                </div>
              }
            />
            <ErrorText>{formError(create.error, limitLabels)}</ErrorText>
            <div className="flex gap-2">
              <button className="btn-primary" type="submit" disabled={create.isPending}>
                {create.isPending ? "Creating…" : "Create key"}
              </button>
              <button
                className="btn-secondary"
                type="button"
                onClick={() => {
                  setCreating(false);
                  create.reset();
                }}
              >
                Cancel
              </button>
            </div>
          </form>
        </section>
      )}

      <QueryView
        query={keys}
        loading="Loading keys…"
        isEmpty={(d) => !d.length}
        empty={
          !creating && (
            <EmptyState title="No API keys yet" action={createButton || undefined}>
              {canManage
                ? "Create a key with spend and rate limits, then use it with any OpenAI client."
                : "Owners and developers of this organisation can create keys."}
            </EmptyState>
          )
        }
      >
        {(d) => (
          <section className="card space-y-4 p-0">
            <div className="flex items-center justify-between px-5 pt-5">
              <h2 className="font-semibold">Keys</h2>
              {createButton}
            </div>
            <div className="relative overflow-x-auto">
              <table className="data-table stack-table" data-testid="keys-table">
                <thead>
                  <tr>
                    <th>Name</th>
                    <th>Key</th>
                    <th>Status</th>
                    <th>Spend this period</th>
                    <th>Limits</th>
                    <th>Created</th>
                    <th>Last used</th>
                    <th>
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {d.map((k) => (
                    <KeyRowView key={k.id} k={k} canManage={canManage} onChanged={refresh} onRotated={setRevealed} />
                  ))}
                </tbody>
              </table>
            </div>
          </section>
        )}
      </QueryView>
      {!canManage && keys.data && keys.data.length > 0 && (
        <p className="text-sm text-slate-600">You can see this organisation&apos;s keys; owners and developers create, edit and revoke them.</p>
      )}
    </div>
  );
}

function SecretReveal({ revealed, onDone, baseUrl }: RevealProps) {
  const [copied, setCopied] = useState<"no" | "yes" | "failed">("no");
  return (
    <section className="card space-y-3 border-emerald-300 bg-emerald-50" data-testid="key-secret-panel">
      <div>
        <h2 className="font-semibold text-emerald-900">Your new key “{revealed.name}”</h2>
        <p className="text-sm text-emerald-900">
          <strong>Copy it now: you won&apos;t see it again.</strong> tokenmarket stores only a hash of it. {revealed.note}
        </p>
      </div>
      <div className="flex gap-2">
        <input
          className="input font-mono text-xs"
          readOnly
          value={revealed.secret}
          data-testid="key-secret"
          aria-label="New API key"
          onFocus={(e) => e.currentTarget.select()}
        />
        <button
          className="btn-primary shrink-0"
          data-testid="copy-key"
          onClick={() =>
            navigator.clipboard.writeText(revealed.secret).then(
              () => setCopied("yes"),
              () => setCopied("failed"),
            )
          }
        >
          {copied === "yes" ? "Copied" : "Copy"}
        </button>
      </div>
      {copied === "failed" && <p className="text-sm text-red-700">The browser refused clipboard access; select the key and copy it by hand.</p>}
      <pre className="overflow-x-auto rounded-md bg-slate-900 p-3 text-xs text-slate-100" data-testid="key-env">
        {`export OPENAI_API_KEY=${revealed.secret}\nexport OPENAI_BASE_URL=${baseUrl}`}
      </pre>
      <button className="btn-secondary" onClick={onDone} data-testid="key-secret-done">
        I have saved it
      </button>
    </section>
  );
}

function StatusBadge({ k }: { k: KeyRow }) {
  const styles = {
    active: "bg-emerald-100 text-emerald-800",
    revoked: "bg-slate-200 text-slate-700",
    expired: "bg-amber-100 text-amber-800",
  } as const;
  return (
    <span className="space-y-1">
      <span className={`inline-block rounded px-1.5 py-0.5 text-xs font-medium ${styles[k.status]}`} data-testid="key-status">
        {k.status}
      </span>
      {k.revokesAt && <span className="block text-xs text-amber-700">old key: stops {formatDateTime(k.revokesAt)}</span>}
      {k.status === "active" && k.expiresAt && !k.revokesAt && <span className="block text-xs text-slate-500">expires {formatDate(k.expiresAt)}</span>}
    </span>
  );
}

function SpendCell({ k }: { k: KeyRow }) {
  if (k.spendLimitNano == null) {
    return (
      <span>
        {formatUsd(k.periodSpendNano)} <span className="text-xs text-slate-500">this month · no limit</span>
      </span>
    );
  }
  // Integer basis points of the limit: progress bar only, money stays bigint.
  const bps = Number((k.periodSpendNano * 10_000n) / k.spendLimitNano);
  const pct = Math.min(100, bps / 100);
  return (
    <div className="min-w-36 space-y-1" data-testid="key-spend">
      <div>
        {formatUsd(k.periodSpendNano)}{" "}
        <span className="text-slate-500">
          / {formatUsd(k.spendLimitNano)} {periodLabel[k.spendPeriod]}
        </span>
      </div>
      <div className="h-1.5 rounded bg-slate-100">
        <div className={`h-1.5 rounded ${bps >= 10_000 ? "bg-red-500" : bps >= 8_000 ? "bg-amber-500" : "bg-indigo-500"}`} style={{ width: `${pct}%` }} />
      </div>
      {k.status === "active" && k.periodResetsAt && <div className="text-xs text-slate-500">resets {formatDateTime(k.periodResetsAt)}</div>}
    </div>
  );
}

function LimitsCell({ k }: { k: KeyRow }) {
  const parts = [
    k.rpmLimit != null && `${k.rpmLimit.toLocaleString()} req/min`,
    k.tpmLimit != null && `${k.tpmLimit.toLocaleString()} tok/min`,
    k.modelAllowlist.length ? `models: ${k.modelAllowlist.join(", ")}` : "any model",
  ].filter(Boolean);
  return (
    <span className="text-xs text-slate-600" data-testid="key-limits">
      {parts.join(" · ")}
    </span>
  );
}

type Panel = "edit" | "rotate" | "revoke" | null;

function KeyRowView({ k, canManage, onChanged, onRotated }: { k: KeyRow; canManage: boolean; onChanged: () => void; onRotated: (r: Revealed) => void }) {
  const trpc = useTRPC();
  const [panel, setPanel] = useState<Panel>(null);
  const [grace, setGrace] = useState(0);
  const done = () => {
    setPanel(null);
    onChanged();
  };
  const update = useMutation(trpc.keys.update.mutationOptions({ onSuccess: done }));
  const revoke = useMutation(trpc.keys.revoke.mutationOptions({ onSuccess: done }));
  const rotate = useMutation(
    trpc.keys.rotate.mutationOptions({
      onSuccess: (r) => {
        onRotated({
          name: r.name,
          secret: r.secret,
          note: grace ? `The old key keeps working until ${formatDateTime(r.oldKeyRevokesAt)}.` : "The old key no longer works.",
        });
        done();
      },
    }),
  );
  const editable = canManage && k.status === "active";
  const open = (p: Panel) => {
    setPanel(panel === p ? null : p);
    update.reset();
    revoke.reset();
    rotate.reset();
  };

  return (
    <>
      <tr data-testid="key-row" data-key-prefix={k.prefix} className={k.status === "active" ? "" : "text-slate-500"}>
        <td className="font-medium">{k.name}</td>
        <td>
          <code className="whitespace-nowrap rounded bg-slate-100 px-1 text-xs" data-testid="key-prefix">
            {k.prefix}…{k.last4}
          </code>
        </td>
        <td data-label="Status">
          <StatusBadge k={k} />
        </td>
        <td data-label="Spend">
          <SpendCell k={k} />
        </td>
        <td data-label="Limits">
          <LimitsCell k={k} />
        </td>
        <td data-label="Created" className="whitespace-nowrap text-xs">
          {formatDate(k.createdAt)}
          {k.createdBy && <span className="block text-slate-500">by {k.createdBy}</span>}
        </td>
        <td data-label="Last used" className="whitespace-nowrap text-xs">
          {k.lastUsedAt ? formatDateTime(k.lastUsedAt) : "never"}
        </td>
        <td className="whitespace-nowrap text-right">
          {editable && (
            <span className="inline-flex gap-1">
              <button className="btn-secondary px-2 py-1 text-xs" onClick={() => open("edit")}>
                Edit limits
              </button>
              {!k.revokesAt && (
                <button className="btn-secondary px-2 py-1 text-xs" onClick={() => open("rotate")}>
                  Rotate
                </button>
              )}
              <button className="btn-danger px-2 py-1 text-xs" onClick={() => open("revoke")}>
                Revoke
              </button>
            </span>
          )}
        </td>
      </tr>
      {panel && (
        <tr>
          <td colSpan={8} className="bg-slate-50">
            {panel === "edit" && (
              <form
                className="space-y-4 py-2"
                data-testid="edit-key-form"
                onSubmit={(e) => {
                  e.preventDefault();
                  update.mutate({ keyId: k.id, ...readLimits(new FormData(e.currentTarget)) });
                }}
              >
                <LimitsFields idPrefix={`edit-${k.id}`} defaults={k} />
                <ErrorText>{formError(update.error, limitLabels)}</ErrorText>
                <div className="flex gap-2">
                  <button className="btn-primary" type="submit" disabled={update.isPending}>
                    Save limits
                  </button>
                  <button className="btn-secondary" type="button" onClick={() => setPanel(null)}>
                    Cancel
                  </button>
                </div>
              </form>
            )}
            {panel === "rotate" && (
              <div className="flex flex-wrap items-center gap-3 py-2" data-testid="rotate-key-panel">
                <span className="text-sm">A new secret with the same name and limits replaces this key.</span>
                <select className="input w-auto" aria-label="Grace period" value={grace} onChange={(e) => setGrace(Number(e.target.value))}>
                  {graceOptions.map((o) => (
                    <option key={o.seconds} value={o.seconds}>
                      {o.label}
                    </option>
                  ))}
                </select>
                <button className="btn-primary" disabled={rotate.isPending} onClick={() => rotate.mutate({ keyId: k.id, graceSeconds: grace })}>
                  Rotate key
                </button>
                <button className="btn-secondary" onClick={() => setPanel(null)}>
                  Cancel
                </button>
                <ErrorText>{formError(rotate.error, limitLabels)}</ErrorText>
              </div>
            )}
            {panel === "revoke" && (
              <div className="flex flex-wrap items-center gap-3 py-2" data-testid="revoke-key-panel">
                <span className="text-sm">
                  Requests with{" "}
                  <code>
                    {k.prefix}…{k.last4}
                  </code>{" "}
                  will fail within seconds. This cannot be undone.
                </span>
                <button className="btn-danger" data-testid="confirm-revoke" disabled={revoke.isPending} onClick={() => revoke.mutate({ keyId: k.id })}>
                  Revoke key
                </button>
                <button className="btn-secondary" onClick={() => setPanel(null)}>
                  Cancel
                </button>
                <ErrorText>{revoke.error?.message}</ErrorText>
              </div>
            )}
          </td>
        </tr>
      )}
    </>
  );
}
