import { createHash } from "node:crypto";

/**
 * The usage bus's rules, without I/O: which shard an event goes to, how a reporter's batch
 * becomes messages, the names of the stream, subjects and consumers, the stream's and
 * consumers' settings, and what a settler does with each message once stage 1 has answered for it.
 */

export const USAGE_STREAM = "USAGE";
export const USAGE_SUBJECT_PREFIX = "usage";

export type BusConfig = {
  shards: number;
  maxAgeMs: number;
  maxBytes: number;
  replicas: number;
  duplicateWindowMs: number;
  maxDeliver: number;
  /** How long a settler may hold a message unacknowledged before JetStream hands it to another. */
  ackWaitMs: number;
};

/** The bus settings from the environment (server/env.ts validates each). */
export function busConfigFrom(e: {
  USAGE_BUS_SHARDS: number;
  USAGE_BUS_MAX_AGE_HOURS: number;
  USAGE_BUS_MAX_BYTES: number;
  USAGE_BUS_REPLICAS: number;
  USAGE_BUS_DUPLICATE_WINDOW_SECONDS: number;
  USAGE_BUS_MAX_DELIVER: number;
  USAGE_BUS_ACK_WAIT_SECONDS: number;
}): BusConfig {
  return {
    shards: e.USAGE_BUS_SHARDS,
    maxAgeMs: e.USAGE_BUS_MAX_AGE_HOURS * 3_600_000,
    maxBytes: e.USAGE_BUS_MAX_BYTES,
    replicas: e.USAGE_BUS_REPLICAS,
    duplicateWindowMs: e.USAGE_BUS_DUPLICATE_WINDOW_SECONDS * 1000,
    maxDeliver: e.USAGE_BUS_MAX_DELIVER,
    ackWaitMs: e.USAGE_BUS_ACK_WAIT_SECONDS * 1000,
  };
}

/**
 * The shard of an API key's usage: FNV-1a of the key id, modulo the shard count. A key
 * belongs to one buyer, so a buyer's usage through one key stays on one shard (in order
 * on one consumer), and the hash is stable across proxies and restarts.
 */
export function shardOf(keyId: string, shards: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < keyId.length; i++) {
    h ^= keyId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % shards;
}

export const shardSubject = (shard: number) => `${USAGE_SUBJECT_PREFIX}.${shard}`;
export const shardConsumer = (shard: number) => `settle-${shard}`;

/** One bus message: a shard's events of a reporter batch, as a JSON array of the events' wire JSON. */
export type BusMessage = { subject: string; msgId: string; body: string; indices: number[] };

/**
 * A reporter batch as bus messages: per shard, the events sorted by id and cut into
 * messages of at most `maxBytes`. A message's id is its lone event's id, or a digest of its
 * events' ids, so it names exactly that composition: a resend of the same events (a retry,
 * a spool replayed after a crash) is the same message and JetStream's duplicate window drops
 * it, while a different composition is a different message whose events the database's
 * primary key makes duplicates. `lines[i]` is `ids[i]`'s event JSON; `shards[i]` its shard.
 */
export function batchMessages(ids: string[], lines: string[], shardsOf: number[], maxBytes: number): BusMessage[] {
  const byShard = new Map<number, number[]>();
  shardsOf.forEach((s, i) => {
    const list = byShard.get(s);
    if (list) list.push(i);
    else byShard.set(s, [i]);
  });
  const messages: BusMessage[] = [];
  for (const [shard, indices] of [...byShard].sort(([a], [b]) => a - b)) {
    indices.sort((a, b) => (ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : a - b));
    let chunk: number[] = [];
    let bytes = 2;
    const close = () => {
      if (!chunk.length) return;
      const chunkIds = chunk.map((i) => ids[i]!);
      const msgId = chunk.length === 1 ? chunkIds[0]! : `batch-${createHash("sha256").update(chunkIds.join("\n")).digest("base64url")}`;
      messages.push({ subject: shardSubject(shard), msgId, body: `[${chunk.map((i) => lines[i]).join(",")}]`, indices: chunk });
      chunk = [];
      bytes = 2;
    };
    for (const i of indices) {
      // Byte length of the JSON, counted as UTF-16 units times 3 at worst: no encoding on the hot path.
      const size = lines[i]!.length * 3 + 1;
      if (chunk.length && bytes + size > maxBytes) close();
      chunk.push(i);
      bytes += size;
    }
    close();
  }
  return messages;
}

/**
 * The events a message carries: a batch (a JSON array) or, from proxies before batching, one
 * event. Null for an empty batch, which no delivery will ever settle.
 */
export function eventsOfMessage(body: unknown): unknown[] | null {
  if (!Array.isArray(body)) return [body];
  return body.length ? body : null;
}

const nanos = (ms: number) => ms * 1_000_000;

/** The stream: file storage, limits from the config, messages deduplicated by Nats-Msg-Id within the window. */
export function streamConfig(c: BusConfig) {
  return {
    name: USAGE_STREAM,
    subjects: [`${USAGE_SUBJECT_PREFIX}.*`],
    storage: "file" as const,
    retention: "limits" as const,
    // Past max_bytes new publishes are refused (the proxy keeps spooling) rather than unsettled usage dropped.
    discard: "new" as const,
    max_age: nanos(c.maxAgeMs),
    max_bytes: c.maxBytes,
    num_replicas: c.replicas,
    duplicate_window: nanos(Math.min(c.duplicateWindowMs, c.maxAgeMs)),
    // Lag reads the oldest unacknowledged message of a shard with a direct get (next by subject).
    allow_direct: true,
  };
}

/** One durable pull consumer per shard; every settler pulls from each, so JetStream spreads the messages. */
export function consumerConfig(c: BusConfig, shard: number) {
  return {
    durable_name: shardConsumer(shard),
    filter_subject: shardSubject(shard),
    ack_policy: "explicit" as const,
    deliver_policy: "all" as const,
    ack_wait: nanos(c.ackWaitMs),
    max_deliver: c.maxDeliver,
    max_ack_pending: 50_000,
    num_replicas: c.replicas,
  };
}

/** What a settler does with one message once stage 1 has answered (or failed) for it. */
export type MessageAction =
  /** Committed (settled, duplicate, conflict, or rejected and recorded): done with. */
  | { kind: "ack" }
  /** Not yet: deliver it again after `delayMs`. */
  | { kind: "nak"; delayMs: number }
  /** Never settleable: stop redelivering and set it aside with the reason. */
  | { kind: "term"; reason: string };

/** Redelivery delay after a failure: 1 s doubling to at most 60 s, by delivery count. */
export function redeliveryDelayMs(deliveries: number): number {
  return Math.min(60_000, 1000 * 2 ** Math.max(0, Math.min(deliveries - 1, 6)));
}

/**
 * A message whose settlement failed (its transaction rolled back): delivered again later,
 * unless this was its last allowed delivery, when it is poison and terminated with the reason.
 */
export function actionOnFailure(deliveries: number, maxDeliver: number, error: string): MessageAction {
  if (deliveries >= maxDeliver) return { kind: "term", reason: `failed ${deliveries} deliveries, the last with: ${error}` };
  return { kind: "nak", delayMs: redeliveryDelayMs(deliveries) };
}
