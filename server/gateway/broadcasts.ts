import client from "prom-client";
import { BROADCAST_SUBJECTS, catalogChanged, keysChanged } from "../fleet/broadcast-contract";
import type { NatsLink } from "../fleet/nats";
import type { GatewayState } from "./state";

/**
 * The proxy's side of the backend's broadcasts (server/fleet/broadcast-contract.ts):
 * with NATS_URL, a changed key is forgotten and the routing table reloaded as soon
 * as the backend has committed the change, instead of at the next poll. Polling
 * keeps running underneath, so a proxy that cannot reach NATS (or misses a message)
 * still learns of every change within its poll interval. A malformed message is
 * counted and dropped: it is input from the network like any other.
 */

/** Subscribes on `link` (the proxy's NATS connection) once it connects; the subscriptions outlive reconnects. */
export function listenForBroadcasts(state: GatewayState, link: NatsLink): void {
  const received = new client.Counter({
    name: "gateway_broadcasts_total",
    help: "Broadcasts received from the backend over NATS, by kind (keys, catalog) and whether they were well-formed",
    labelNames: ["kind", "valid"] as const,
    registers: [state.metrics.registry],
  });
  const delay = new client.Histogram({
    name: "gateway_broadcast_delay_seconds",
    help: "From the backend's commit to this proxy applying the broadcast (clocks of both hosts included)",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [state.metrics.registry],
  });
  const decode = (data: Uint8Array): unknown => {
    try {
      return JSON.parse(Buffer.from(data).toString("utf8"));
    } catch {
      return null;
    }
  };
  void link.ready().then(
    (nc) => {
      nc.subscribe(BROADCAST_SUBJECTS.keys, {
        callback: (err, msg) => {
          const m = err ? null : keysChanged.safeParse(decode(msg.data));
          received.inc({ kind: "keys", valid: m?.success ? "true" : "false" });
          if (!m?.success) return;
          state.keys.invalidate(m.data.keyIds);
          delay.observe(Math.max(0, Date.now() - m.data.at) / 1000);
        },
      });
      nc.subscribe(BROADCAST_SUBJECTS.catalog, {
        callback: (err, msg) => {
          const m = err ? null : catalogChanged.safeParse(decode(msg.data));
          received.inc({ kind: "catalog", valid: m?.success ? "true" : "false" });
          if (!m?.success) return;
          state.catalog.refreshNow();
          delay.observe(Math.max(0, Date.now() - m.data.at) / 1000);
        },
      });
    },
    () => {},
  );
}
