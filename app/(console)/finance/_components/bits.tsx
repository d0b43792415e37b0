import Link from "next/link";
import type { ReactNode } from "react";

export function StatusBadge({ ok, testId, okText = "PASS", failText = "FAIL" }: { ok: boolean; testId?: string; okText?: string; failText?: string }) {
  return (
    <span
      data-testid={testId}
      data-status={ok ? "pass" : "fail"}
      className={`rounded px-2 py-0.5 text-xs font-bold tracking-wide ${ok ? "bg-emerald-100 text-emerald-800" : "bg-red-100 text-red-800"}`}
    >
      {ok ? okText : failText}
    </span>
  );
}

export const kindLabel = (kind: string) => kind.replace(/_/g, " ");

export function TransferLink({ id, children }: { id: string; children?: ReactNode }) {
  return (
    <Link href={`/finance/transfers/${id}`} className="font-mono text-xs text-indigo-700 hover:underline" data-testid="transfer-link">
      {children ?? `${id.slice(0, 8)}…`}
    </Link>
  );
}

export function Forbidden() {
  return (
    <div className="rounded-lg border border-slate-200 bg-white px-6 py-10 text-center text-sm text-slate-600">
      Finance views are for owners and finance members. Ask an owner of your organisation for the finance role.
    </div>
  );
}

/** The query string of the defined, non-empty values. */
export function queryString(params: Record<string, string | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : "";
}
