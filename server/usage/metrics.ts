import { Gauge, Registry } from "prom-client";
import type { Db } from "../../db/client";
import type { BusLag } from "../fleet/bus-lag";
import { settlementHealth } from "./health";

/**
 * Settlement's health for Prometheus (`GET /api/metrics` on the web app): how far the
 * ledger is behind acknowledged usage, the figures the finance overview shows. Read from
 * the database at each scrape, so every web process answers the same.
 */
export async function settlementMetricsText(db: Db, p: { now?: Date; bus?: BusLag } = {}): Promise<{ contentType: string; body: string }> {
  const h = await settlementHealth(db, p);
  const shards = [...h.shards];
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
  // Per shard (every bus shard, and shard 0, the HTTP path's, always; 0 when none waits): which shard's windows fall behind.
  const shardGauge = (name: string, help: string) => new Gauge({ name, help, labelNames: ["shard"] as const, registers: [registry] });
  const shardLag = shardGauge("tokenmarket_usage_shard_ledger_lag_seconds", "Age of the oldest usage batch of a shard waiting for that shard's window");
  const shardBatches = shardGauge("tokenmarket_usage_shard_unsettled_batches", "Usage batches of a shard waiting for that shard's window");
  const listed = new Set([0, ...(p.bus?.shards ?? []).map((_, i) => i)]);
  for (const shard of listed) if (!shards.some((s) => s.shard === shard)) shards.push({ shard, batches: 0, lagSeconds: 0 });
  for (const s of shards) {
    shardLag.set({ shard: String(s.shard) }, s.lagSeconds);
    shardBatches.set({ shard: String(s.shard) }, s.batches);
  }
  if (p.bus) {
    const labelled = (name: string, help: string) => new Gauge({ name, help, labelNames: ["consumer"] as const, registers: [registry] });
    const pending = labelled("tokenmarket_usage_bus_pending", "Usage messages on the NATS bus not yet delivered to a settler, per shard's consumer");
    const unacked = labelled("tokenmarket_usage_bus_unacknowledged", "Usage messages delivered to a settler and not yet acknowledged, per shard's consumer");
    const oldest = labelled(
      "tokenmarket_usage_bus_oldest_unsettled_seconds",
      "Age of the oldest usage message no settler has committed yet, per shard's consumer",
    );
    for (const s of p.bus.shards) {
      pending.set({ consumer: s.consumer }, s.pending);
      unacked.set({ consumer: s.consumer }, s.unacknowledged);
      oldest.set({ consumer: s.consumer }, s.oldestAgeSeconds);
    }
    gauge("tokenmarket_usage_bus_connected", "1 when the web app reaches NATS (the usage bus), else 0", p.bus.status === "connected" ? 1 : 0);
  }
  return { contentType: registry.contentType, body: await registry.metrics() };
}
