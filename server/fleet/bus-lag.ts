import { jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import { env } from "../env";
import { shardConsumer, shardSubject, USAGE_STREAM } from "./bus-rules";
import { type NatsLink, type NatsStatus, openNatsLink } from "./nats";

/**
 * How far the settlers trail the usage bus, per shard's consumer: messages not yet
 * delivered, delivered but not acknowledged, and the age of the oldest message not yet
 * acknowledged (the oldest usage the database does not hold yet). The web app shows it on
 * `/api/metrics` and the finance console; with the bus, these come before the ledger lag
 * (batches committed but not yet in a window).
 */

export type ShardLag = { consumer: string; pending: number; unacknowledged: number; oldestAgeSeconds: number };
export type BusLag = { status: NatsStatus; shards: ShardLag[] } | null;

/** The oldest message of `shard` above the consumer's ack floor, as an age in seconds (0 when none waits). */
async function oldestAge(nc: NatsConnection, shard: number, ackFloor: number, now: Date): Promise<number> {
  const jsm = await jetstreamManager(nc);
  try {
    const m = await jsm.direct.getMessage(USAGE_STREAM, { seq: ackFloor + 1, next_by_subj: shardSubject(shard) });
    return m ? Math.max(0, (now.getTime() - m.time.getTime()) / 1000) : 0;
  } catch {
    // No message past the floor (it was acknowledged meanwhile, or aged out).
    return 0;
  }
}

export async function usageBusLag(nc: NatsConnection, p: { shards: number; now?: Date }): Promise<ShardLag[]> {
  const now = p.now ?? new Date();
  const jsm = await jetstreamManager(nc, { timeout: 2_000 });
  return Promise.all(
    Array.from({ length: p.shards }, async (_, shard) => {
      const consumer = shardConsumer(shard);
      const c = await jsm.consumers.info(USAGE_STREAM, consumer);
      const waiting = c.num_pending + c.num_ack_pending;
      return {
        consumer,
        pending: c.num_pending,
        unacknowledged: c.num_ack_pending,
        oldestAgeSeconds: waiting ? await oldestAge(nc, shard, c.ack_floor.stream_seq, now) : 0,
      };
    }),
  );
}

const g = globalThis as unknown as { __tmBusLink?: NatsLink };

/** The web process's view of the bus (null without NATS_URL); its NATS link is opened on first use. */
export async function currentBusLag(): Promise<BusLag> {
  const e = env();
  if (!e.NATS_URL) return null;
  g.__tmBusLink ??= openNatsLink(e.NATS_URL, { name: "tokenmarket-web" });
  const link = g.__tmBusLink;
  const nc = link.connection();
  if (!nc || link.status() !== "connected") return { status: link.status(), shards: [] };
  try {
    return { status: "connected", shards: await usageBusLag(nc, { shards: e.USAGE_BUS_SHARDS }) };
  } catch {
    // The stream or its consumers do not exist yet (no proxy or settler has started).
    return { status: "connected", shards: [] };
  }
}
