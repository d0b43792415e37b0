"use client";
import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Field } from "@/app/_components/filter-form";
import { Pager, useCursorPages } from "@/app/_components/pager";
import { EmptyState, QueryView } from "@/app/_components/ui";
import { dateTime } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";
import type { AuditAction } from "@/server/audit/log";
import { changedFields } from "@/server/audit/diff";

export function AuditLog({ scope, actions }: { scope: "platform" | "org"; actions: readonly AuditAction[] }) {
  const trpc = useTRPC();
  const [action, setAction] = useState<AuditAction | "">("");
  const pages = useCursorPages();
  const input = { action: action || null, before: pages.cursor, limit: 50 };
  const platform = useQuery({ ...trpc.audit.list.queryOptions(input), enabled: scope === "platform" });
  const own = useQuery({ ...trpc.audit.mine.queryOptions(input), enabled: scope === "org" });
  const q = scope === "platform" ? platform : own;
  return (
    <section className="card space-y-4">
      <Field id="a-action" label="Action" className="w-60">
        <select
          id="a-action"
          className="input"
          value={action}
          onChange={(e) => {
            setAction(e.target.value as AuditAction | "");
            pages.reset();
          }}
        >
          <option value="">All actions</option>
          {actions.map((a) => (
            <option key={a} value={a}>
              {a}
            </option>
          ))}
        </select>
      </Field>
      <QueryView
        query={q}
        isEmpty={(d) => !d.entries.length}
        empty={
          <EmptyState title="Nothing recorded">
            Organisations created, invites and roles, listing status and prices, keys and their limits, payouts and closed months appear here.
          </EmptyState>
        }
      >
        {(d) => (
          <table className="data-table" data-testid="audit-log">
            <thead>
              <tr>
                <th>When</th>
                <th>Action</th>
                <th>Who</th>
                {scope === "platform" && <th>Organisation</th>}
                <th>Subject</th>
                <th>Changes</th>
              </tr>
            </thead>
            <tbody>
              {d.entries.map((e) => (
                <tr key={e.id} className="align-top" data-testid="audit-row" data-action={e.action}>
                  <td className="whitespace-nowrap">{dateTime(e.at)}</td>
                  <td className="font-medium">{e.action}</td>
                  <td>{e.actorEmail ?? "system"}</td>
                  {scope === "platform" && <td>{e.orgName ?? "Platform"}</td>}
                  <td className="font-mono text-xs">
                    {e.subjectKind}:{e.subjectId}
                  </td>
                  <td>
                    <ul className="space-y-0.5 text-xs" data-testid="audit-changes">
                      {changedFields(e.before, e.after).map((c) => (
                        <li key={c.field}>
                          <span className="text-slate-500">{c.label}</span> {c.before} → <strong>{c.after}</strong>
                        </li>
                      ))}
                    </ul>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </QueryView>
      <Pager pages={pages} nextCursor={q.data?.nextCursor} newestFirst />
    </section>
  );
}
