import { type JetStreamManager, jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/transport-node";
import type { eventResult, UsageEvent } from "../usage/contract";
import type { z } from "zod";
import { type BusConfig, batchMessages, consumerConfig, shardOf, streamConfig, USAGE_STREAM } from "./bus-rules";
import type { NatsLink } from "./nats";

/**
 * The usage bus on NATS JetStream: the stream and its per-shard consumers, created
 * idempotently by whoever starts first (proxies and settlers alike), and the proxy's side,
 * which publishes each reporter batch as one message per shard (batchMessages: its id names
 * its composition), all shards at once, so JetStream's duplicate window drops a resend and
 * the database's primary key drops one made after it. An event counts as delivered (and
 * leaves the proxy's spool) only when JetStream has acknowledged storing its message.
 */

type EventResult = z.infer<typeof eventResult>;

/** How long one publish waits for JetStream's acknowledgement before the batch is retried. */
const PUBLISH_TIMEOUT_MS = 5_000;
/** Room left in the server's max_payload for the message's headers. */
const HEADER_ROOM = 4096;

async function upsertStream(jsm: JetStreamManager, c: BusConfig) {
  const cfg = streamConfig(c);
  try {
    await jsm.streams.add(cfg);
  } catch {
    // It exists with other limits (a changed env): bring them to the configured ones.
    await jsm.streams.update(cfg.name, cfg);
  }
}

async function upsertConsumer(jsm: JetStreamManager, c: BusConfig, shard: number) {
  const cfg = consumerConfig(c, shard);
  try {
    await jsm.consumers.add(USAGE_STREAM, cfg);
  } catch {
    const { durable_name, filter_subject, deliver_policy, ...changeable } = cfg;
    await jsm.consumers.update(USAGE_STREAM, durable_name, changeable);
  }
}

/** Creates (or brings up to date) the usage stream and one durable consumer per shard. Safe to run from every process at once. */
export async function ensureUsageBus(nc: NatsConnection, c: BusConfig): Promise<void> {
  const jsm = await jetstreamManager(nc, { timeout: PUBLISH_TIMEOUT_MS });
  await upsertStream(jsm, c);
  for (let shard = 0; shard < c.shards; shard++) await upsertConsumer(jsm, c, shard);
}

export type UsagePublisher = {
  /** The proxy's reporter calls this in place of the backend's report: answered events leave the spool. */
  report(events: UsageEvent[], lines?: string[]): Promise<{ results: EventResult[] }>;
};

/**
 * The proxy's publisher. While NATS is unreachable it throws at once, so the reporter keeps
 * the events spooled and backs off; events JetStream did not acknowledge are left
 * unanswered and sent again.
 */
export function usagePublisher(link: NatsLink, c: BusConfig): UsagePublisher {
  let ensured: { nc: NatsConnection; done: Promise<void> } | null = null;
  const ready = (nc: NatsConnection) => {
    if (ensured?.nc !== nc) ensured = { nc, done: ensureUsageBus(nc, c) };
    const mine = ensured;
    return mine.done.catch((err) => {
      if (ensured === mine) ensured = null;
      throw err;
    });
  };
  return {
    report: async (events, lines) => {
      const nc = link.connection();
      if (!nc || link.status() !== "connected") throw new Error(`usage bus: NATS is ${link.status()}`);
      await ready(nc);
      const js = jetstream(nc, { timeout: PUBLISH_TIMEOUT_MS });
      const messages = batchMessages(
        events.map((e) => e.id),
        events.map((e, i) => lines?.[i] ?? JSON.stringify(e)),
        events.map((e) => shardOf(e.keyId, c.shards)),
        (nc.info?.max_payload ?? 1024 * 1024) - HEADER_ROOM,
      );
      const acks = await Promise.allSettled(messages.map((m) => js.publish(m.subject, m.body, { msgID: m.msgId, timeout: PUBLISH_TIMEOUT_MS })));
      const results: EventResult[] = [];
      let failure: unknown = null;
      acks.forEach((a, k) => {
        if (a.status === "rejected") failure ??= a.reason;
        else
          for (const i of messages[k]!.indices)
            results.push({ id: events[i]!.id, status: a.value.duplicate ? "duplicate" : "settled", costNano: null, reason: null });
      });
      if (!results.length && failure) throw new Error(`usage bus: publish failed: ${(failure as Error).message}`);
      return { results };
    },
  };
}
