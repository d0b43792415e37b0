"use client";
import { useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useState } from "react";
import { EmptyState, ErrorText, Spinner } from "@/app/_components/ui";
import { usd } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import type { LedgerAccountKind } from "@/db/schema/ledger";
import { kindLabel } from "../_components/bits";

export function AccountList({ initialKind, kinds }: { initialKind: string; kinds: readonly LedgerAccountKind[] }) {
  const trpc = useTRPC();
  const [kind, setKind] = useState(initialKind);
  const accounts = useQuery(trpc.finance.accounts.queryOptions({ kind: (kind || null) as LedgerAccountKind | null }));
  return (
    <section className="card space-y-4">
      <div className="w-60">
        <label className="label" htmlFor="kind">Kind</label>
        <select id="kind" className="input" value={kind} onChange={(e) => setKind(e.target.value)}>
          <option value="">All kinds</option>
          {kinds.map((k) => (
            <option key={k} value={k}>{kindLabel(k)}</option>
          ))}
        </select>
      </div>
      {accounts.isLoading ? (
        <Spinner />
      ) : accounts.error ? (
        <ErrorText>{accounts.error.message}</ErrorText>
      ) : !accounts.data?.length ? (
        <EmptyState title="No accounts">Accounts are opened by their first posting.</EmptyState>
      ) : (
        <table className="data-table" data-testid="accounts">
          <thead>
            <tr><th>Owner</th><th>Kind</th><th className="text-right">Debits</th><th className="text-right">Credits</th><th className="text-right">Balance</th><th className="text-right">Held</th><th className="text-right">Available</th></tr>
          </thead>
          <tbody>
            {accounts.data.map((a) => (
              <tr key={a.id}>
                <td>
                  <Link className="text-indigo-700 hover:underline" href={`/finance/accounts/${a.id}`}>{a.orgName ?? "Platform"}</Link>
                </td>
                <td>{kindLabel(a.kind)}</td>
                <td className="text-right font-mono">{usd(a.debitsPosted)}</td>
                <td className="text-right font-mono">{usd(a.creditsPosted)}</td>
                <td className="text-right font-mono font-medium">{usd(a.postedNano)}</td>
                <td className="text-right font-mono text-slate-500">{usd(a.pendingNano)}</td>
                <td className="text-right font-mono">{usd(a.availableNano)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
