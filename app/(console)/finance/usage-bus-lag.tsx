"use client";
import { useQuery } from "@tanstack/react-query";
import { live } from "@/app/_lib/live";
import { useTRPC } from "@/app/_lib/trpc";

const seconds = (s: number) => `${s.toLocaleString("en-US", { maximumFractionDigits: 1 })} s`;

/**
 * With the usage bus (NATS_URL), how far the settlers trail it, per shard: usage waits here
 * before it is a batch in the database, so this comes ahead of the ledger lag above. Nothing
 * shows on one machine (no bus).
 */
export function UsageBusLag() {
  const trpc = useTRPC();
  const q = useQuery({ ...trpc.finance.usageBusLag.queryOptions(), ...live });
  const d = q.data;
  if (!d) return null;
  const oldest = Math.max(0, ...d.shards.map((s) => s.oldestAgeSeconds));
  return (
    <section className="card mb-6 space-y-3" data-testid="usage-bus-lag">
      <h2 className="font-semibold">Usage bus (NATS JetStream)</h2>
      {d.status !== "connected" ? (
        <p className="text-sm text-amber-700" data-testid="usage-bus-status">
          NATS is {d.status}: proxies keep usage in their spools until it is back.
        </p>
      ) : (
        <>
          <p className="text-sm">
            Oldest usage no settler has committed yet:{" "}
            <span className="font-mono" data-testid="usage-bus-oldest">
              {seconds(oldest)}
            </span>
          </p>
          <table className="w-full text-sm">
            <thead>
              <tr className="text-left text-slate-500">
                <th>Consumer</th>
                <th className="text-right">Pending</th>
                <th className="text-right">Delivered, unacknowledged</th>
                <th className="text-right">Oldest</th>
              </tr>
            </thead>
            <tbody>
              {d.shards.map((s) => (
                <tr key={s.consumer} data-testid="usage-bus-shard">
                  <td className="font-mono">{s.consumer}</td>
                  <td className="text-right">{s.pending.toLocaleString("en-US")}</td>
                  <td className="text-right">{s.unacknowledged.toLocaleString("en-US")}</td>
                  <td className="text-right">{seconds(s.oldestAgeSeconds)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
