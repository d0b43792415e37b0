"use client";
import { useQuery } from "@tanstack/react-query";
import { EmptyState, QueryView } from "@/app/_components/ui";
import { dateTime } from "@/app/_lib/format";
import { live } from "@/app/_lib/live";
import { useTRPC } from "@/app/_lib/trpc";

const seconds = (ms: number) => `${(ms / 1000).toLocaleString("en-US", { maximumFractionDigits: 1 })} s`;

/** How far the ledger trails acknowledged usage: batches wait for a settlement window before any balance shows them. */
export function SettlementLag() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.finance.settlementHealth.queryOptions(), ...live });
  return (
    <section className="card mb-6 space-y-3" data-testid="settlement-lag">
      <h2 className="font-semibold">Usage settlement</h2>
      <QueryView
        query={q}
        loading="Reading the settlement queue…"
        isEmpty={(d) => !d.recent && !d.waitingBatches}
        empty={<EmptyState title="No usage settled yet">Once usage is reported, the ledger&apos;s lag behind it shows here.</EmptyState>}
      >
        {(d) => (
          <dl className="grid grid-cols-2 gap-4 text-sm sm:grid-cols-3">
            <div>
              <dt className="text-slate-500">Ledger lag (oldest waiting batch)</dt>
              <dd className="font-mono text-lg" data-testid="ledger-lag">
                {seconds(d.lagSeconds * 1000)}
              </dd>
            </div>
            <div>
              <dt className="text-slate-500">Waiting for a window</dt>
              <dd data-testid="ledger-waiting">
                {d.waitingBatches.toLocaleString("en-US")} batch{d.waitingBatches === 1 ? "" : "es"}, {d.waitingEvents.toLocaleString("en-US")} event
                {d.waitingEvents === 1 ? "" : "s"}
              </dd>
            </div>
            <div>
              <dt className="text-slate-500">Recent windows</dt>
              <dd data-testid="ledger-windows">
                {d.recent
                  ? `last ${dateTime(d.recent.lastAt)}, lag ${seconds(d.recent.lastLagMs)}; worst of the last ${d.recent.windows}: ${seconds(d.recent.maxLagMs)}`
                  : "none yet"}
              </dd>
            </div>
          </dl>
        )}
      </QueryView>
      {q.data?.shards.some((s) => s.shard !== 0) && <ShardLags shards={q.data.shards} />}
    </section>
  );
}

/** With sharded settlers (the usage bus), each shard's windows run on their own: the one that falls behind shows here. */
function ShardLags({ shards }: { shards: { shard: number; batches: number; lagSeconds: number }[] }) {
  return (
    <table className="w-full text-sm" data-testid="ledger-shards">
      <thead>
        <tr className="text-left text-slate-500">
          <th>Shard</th>
          <th className="text-right">Waiting batches</th>
          <th className="text-right">Oldest</th>
        </tr>
      </thead>
      <tbody>
        {shards.map((s) => (
          <tr key={s.shard} data-testid="ledger-shard">
            <td className="font-mono">{s.shard === 0 ? "0 (HTTP)" : s.shard}</td>
            <td className="text-right">{s.batches.toLocaleString("en-US")}</td>
            <td className="text-right font-mono">{seconds(s.lagSeconds * 1000)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
