import { Gauge, Registry } from "prom-client";
import type { Db } from "../../db/client";
import { settlementHealth } from "./health";

/**
 * Settlement's health for Prometheus (`GET /api/metrics` on the web app): how far the
 * ledger is behind acknowledged usage, the figures the finance overview shows. Read from
 * the database at each scrape, so every web process answers the same.
 */
export async function settlementMetricsText(db: Db, p: { now?: Date } = {}): Promise<{ contentType: string; body: string }> {
  const h = await settlementHealth(db, p);
  const registry = new Registry();
  const gauge = (name: string, help: string, value: number) => new Gauge({ name, help, registers: [registry] }).set(value);
  gauge("tokenmarket_usage_ledger_lag_seconds", "Age of the oldest acknowledged usage batch not yet in the ledger (0 when none waits)", h.lagSeconds);
  gauge("tokenmarket_usage_unsettled_batches", "Acknowledged usage batches waiting for a settlement window", h.waitingBatches);
  gauge("tokenmarket_usage_unsettled_events", "Acknowledged usage events waiting for a settlement window", h.waitingEvents);
  gauge(
    "tokenmarket_usage_last_window_lag_seconds",
    "Age of the oldest batch the last settlement window took, when it committed",
    (h.recent?.lastLagMs ?? 0) / 1000,
  );
  return { contentType: registry.contentType, body: await registry.metrics() };
}
