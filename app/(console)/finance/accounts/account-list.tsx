"use client";
import { keepPreviousData, useQuery } from "@tanstack/react-query";
import Link from "next/link";
import { useDeferredValue, useState } from "react";
import { MoneyCell } from "@/app/_components/money-cell";
import { Field } from "@/app/_components/filter-form";
import { Pager, useCursorPages } from "@/app/_components/pager";
import { EmptyState, QueryView } from "@/app/_components/ui";
import { useTRPC } from "@/app/_lib/trpc";
import type { LedgerAccountKind } from "@/db/schema/ledger";
import { kindLabel } from "../_components/bits";

const PAGE = 100;

export function AccountList({ initialKind, kinds }: { initialKind: string; kinds: readonly LedgerAccountKind[] }) {
  const trpc = useTRPC();
  const [kind, setKind] = useState(initialKind);
  const [search, setSearch] = useState("");
  const deferredSearch = useDeferredValue(search.trim());
  const pages = useCursorPages();
  const accounts = useQuery({
    ...trpc.finance.accounts.queryOptions({
      kind: (kind || null) as LedgerAccountKind | null,
      search: deferredSearch || null,
      after: pages.cursor,
      limit: PAGE,
    }),
    placeholderData: keepPreviousData,
  });
  const page = accounts.data;
  return (
    <section className="card space-y-4">
      <div className="flex flex-wrap gap-4">
        <Field id="kind" label="Kind" className="w-60">
          <select
            id="kind"
            className="input"
            value={kind}
            onChange={(e) => {
              setKind(e.target.value);
              pages.reset();
            }}
          >
            <option value="">All kinds</option>
            {kinds.map((k) => (
              <option key={k} value={k}>
                {kindLabel(k)}
              </option>
            ))}
          </select>
        </Field>
        <Field id="account-search" label="Search organisations" className="w-72">
          <input
            id="account-search"
            className="input"
            type="search"
            placeholder="Organisation name"
            maxLength={100}
            value={search}
            onChange={(e) => {
              setSearch(e.target.value);
              pages.reset();
            }}
          />
        </Field>
      </div>
      <QueryView
        query={accounts}
        isEmpty={(d) => !d.accounts.length}
        empty={
          deferredSearch ? (
            <EmptyState title="No matching accounts">No organisation named like “{deferredSearch}” has an account of this kind.</EmptyState>
          ) : (
            <EmptyState title="No accounts">Accounts are opened by their first posting.</EmptyState>
          )
        }
      >
        {(d) => (
          <table className="data-table" data-testid="accounts">
            <thead>
              <tr>
                <th>Owner</th>
                <th>Kind</th>
                <th className="text-right">Debits</th>
                <th className="text-right">Credits</th>
                <th className="text-right">Balance</th>
                <th className="text-right">Held</th>
                <th className="text-right">Available</th>
              </tr>
            </thead>
            <tbody>
              {d.accounts.map((a) => (
                <tr key={a.id}>
                  <td>
                    <Link className="text-indigo-700 hover:underline" href={`/finance/accounts/${a.id}`}>
                      {a.orgName ?? "Platform"}
                    </Link>
                  </td>
                  <td>{kindLabel(a.kind)}</td>
                  <MoneyCell nano={a.debitsPosted} />
                  <MoneyCell nano={a.creditsPosted} />
                  <MoneyCell nano={a.postedNano} className="font-medium" />
                  <MoneyCell nano={a.pendingNano} className="text-slate-500" />
                  <MoneyCell nano={a.availableNano} />
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
      {(pages.hasPrevious || page?.nextCursor) && <Pager pages={pages} nextCursor={page?.nextCursor} />}
    </section>
  );
}
