import { Gauge, Registry } from "prom-client";
import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { asDate } from "./store";

/**
 * Settlement's health for Prometheus (`GET /api/metrics` on the web app): how far the
 * ledger is behind acknowledged usage. Read from the database at each scrape, so every
 * web process answers the same.
 */
export async function settlementMetricsText(db: Db, now = new Date()): Promise<{ contentType: string; body: string }> {
  const { rows } = await db.execute<{ oldest: unknown; waiting: number; last_lag_ms: number | null; windows_5m: number; events_5m: string }>(sql`
    select (select min(received_at) from usage_batches where settled_at is null) as oldest,
           (select count(*)::int from usage_batches where settled_at is null) as waiting,
           (select lag_ms from usage_windows order by created_at desc limit 1) as last_lag_ms,
           (select count(*)::int from usage_windows where created_at > ${now}::timestamptz - interval '5 minutes') as windows_5m,
           (select coalesce(sum(events), 0)::text from usage_windows where created_at > ${now}::timestamptz - interval '5 minutes') as events_5m`);
  const r = rows[0]!;
  const registry = new Registry();
  const gauge = (name: string, help: string, value: number) => new Gauge({ name, help, registers: [registry] }).set(value);
  gauge("tokenmarket_usage_ledger_lag_seconds", "Age of the oldest acknowledged usage batch not yet in the ledger (0 when none waits)", r.oldest ? Math.max(0, (now.getTime() - asDate(r.oldest).getTime()) / 1000) : 0);
  gauge("tokenmarket_usage_unsettled_batches", "Acknowledged usage batches waiting for a settlement window", r.waiting);
  gauge("tokenmarket_usage_last_window_lag_seconds", "Age of the oldest batch the last settlement window took, when it committed", (r.last_lag_ms ?? 0) / 1000);
  gauge("tokenmarket_usage_windows_5m", "Settlement windows committed in the last 5 minutes", r.windows_5m);
  gauge("tokenmarket_usage_settled_events_5m", "Usage events settled into the ledger in the last 5 minutes", Number(r.events_5m));
  return { contentType: registry.contentType, body: await registry.metrics() };
}
