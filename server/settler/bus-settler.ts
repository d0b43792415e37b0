import fs from "node:fs";
import { type Consumer, type JsMsg, jetstream } from "@nats-io/jetstream";
import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { DomainError } from "../errors";
import { actionOnFailure, type BusConfig, type MessageAction, redeliveryDelayMs, shardConsumer, USAGE_STREAM } from "../fleet/bus-rules";
import type { NatsLink } from "../fleet/nats";
import { ensureUsageBus } from "../fleet/usage-bus";
import { CLOCK_AHEAD_REASON } from "../usage/rules";
import { type EventResult, reportUsage } from "../usage/settlement";

/**
 * Stage 1 from the usage bus: pulls each shard's durable consumer in large batches and
 * runs them through `usage.report`'s own intake (reportUsage: validation, claims by the
 * events' primary key, caps), windowed, so the settler loop (stage 2) posts them. A
 * message is acknowledged only after the transaction that stored its event committed; a
 * settler that dies before leaves it unacknowledged and JetStream delivers it again
 * (to this settler or another pulling from the same consumer), where the claim makes it a
 * duplicate.
 *
 * One bad item never blocks the rest: an invalid event is answered "rejected" by the
 * intake, recorded beside the settler (like the proxy's rejected.jsonl) and acknowledged;
 * a batch whose transaction fails is split in halves until the message behind it is
 * alone, and that one is redelivered with backoff until its last allowed delivery, then
 * terminated with a logged reason.
 */

export type BusSettlerOptions = {
  bus: BusConfig;
  batch: number;
  defaultFeeBps: number;
  backlogLimit: number;
  /** Where rejected and poison messages are appended as JSON lines, for a person to look at. */
  rejectedFile: string;
  log: (line: string) => void;
  /** Called after each batch's commit, before its acknowledgements (the crash tests stop the process there). */
  afterCommit?: (messages: number) => Promise<void> | void;
  /** How long a pull waits for messages when a shard is idle (JetStream's minimum is 1 s). */
  pullExpiresMs?: number;
};

export type BusSettler = {
  readonly stats: { settled: number; duplicate: number; conflict: number; rejected: number; poison: number; batches: number; failedBatches: number };
  stop(): Promise<void>;
};

type Parsed = { msg: JsMsg; raw: unknown };

const PLATFORM = { kind: "platform" } as const;

export function startBusSettler(db: Db, link: NatsLink, opts: BusSettlerOptions): BusSettler {
  const stats = { settled: 0, duplicate: 0, conflict: 0, rejected: 0, poison: 0, batches: 0, failedBatches: 0 };
  let stopping = false;
  const sleeps = new Set<() => void>();
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        sleeps.delete(done);
        resolve();
      }
      sleeps.add(done);
    });

  const databaseAnswers = () =>
    db.execute(sql`select 1`).then(
      () => true,
      () => false,
    );
  let onStop = () => {};
  const stopped = new Promise<never>((_, reject) => {
    onStop = () => reject(new Error("stopping"));
  });
  stopped.catch(() => {});

  const setAside = (entry: { id?: string; event?: unknown; reason: string }) => {
    fs.appendFileSync(opts.rejectedFile, `${JSON.stringify(entry)}\n`);
  };

  const apply = (m: JsMsg, a: MessageAction) => {
    if (a.kind === "ack") m.ack();
    else if (a.kind === "nak") m.nak(a.delayMs);
    // The reason is logged and set aside here: servers before 2.10 ignore a TERM that carries one.
    else m.term();
  };

  /** Settles `items` in one transaction; on failure, halves until the failing message is alone. */
  const settle = async (items: Parsed[]): Promise<void> => {
    let results: EventResult[];
    try {
      results = await reportUsage(db, {
        events: items.map((i) => i.raw),
        service: PLATFORM,
        defaultFeeBps: opts.defaultFeeBps,
        settle: "windowed",
        backlogLimit: opts.backlogLimit,
        wire: true,
      });
    } catch (err) {
      stats.failedBatches++;
      if (err instanceof DomainError && err.code === "BUSY") {
        // Settlement is behind: every message waits, none is to blame.
        for (const i of items) apply(i.msg, { kind: "nak", delayMs: redeliveryDelayMs(i.msg.info.deliveryCount) });
        return;
      }
      if (!(await databaseAnswers())) {
        // The database is down, not the batch at fault: everything waits for it.
        opts.log(`settler: the database is unreachable (${(err as Error).message.split("\n")[0]}); the batch will be delivered again`);
        for (const i of items) apply(i.msg, { kind: "nak", delayMs: redeliveryDelayMs(i.msg.info.deliveryCount) });
        return;
      }
      if (items.length > 1) {
        const half = Math.ceil(items.length / 2);
        await settle(items.slice(0, half));
        await settle(items.slice(half));
        return;
      }
      const item = items[0]!;
      const reason = (err as Error).message.split("\n")[0]!.slice(0, 300);
      const action = actionOnFailure(item.msg.info.deliveryCount, opts.bus.maxDeliver, reason);
      if (action.kind === "term") {
        stats.poison++;
        opts.log(`settler: usage message ${item.msg.info.streamSequence} is poison, terminated: ${action.reason}`);
        setAside({ event: item.raw, reason: action.reason });
      } else opts.log(`settler: usage message ${item.msg.info.streamSequence} failed (delivery ${item.msg.info.deliveryCount}): ${reason}`);
      apply(item.msg, action);
      return;
    }
    await opts.afterCommit?.(items.length);
    stats.batches++;
    results.forEach((r, i) => {
      const { msg, raw } = items[i]!;
      if (r.status === "rejected" && r.reason === CLOCK_AHEAD_REASON) {
        // The proxy's clock runs ahead of ours: a valid event, just early.
        apply(msg, { kind: "nak", delayMs: 5_000 });
        return;
      }
      if (r.status === "rejected") {
        opts.log(`settler: usage event ${r.id} rejected: ${r.reason ?? "no reason given"}`);
        setAside({ id: r.id, event: raw, reason: r.reason ?? "rejected" });
      }
      stats[r.status]++;
      apply(msg, { kind: "ack" });
    });
  };

  const handle = async (msgs: JsMsg[]) => {
    const items: Parsed[] = [];
    for (const msg of msgs) {
      try {
        items.push({ msg, raw: msg.json() });
      } catch {
        // Not JSON: no delivery will ever parse it.
        stats.poison++;
        const reason = "not a JSON usage event";
        opts.log(`settler: usage message ${msg.info.streamSequence} is poison, terminated: ${reason}`);
        setAside({ event: msg.string().slice(0, 2000), reason });
        apply(msg, { kind: "term", reason });
      }
    }
    if (items.length) await settle(items);
  };

  const pullShard = async (shard: number) => {
    let consumer: Consumer | null = null;
    let failures = 0;
    while (!stopping) {
      try {
        const nc = await Promise.race([link.ready(), stopped]);
        if (!consumer) consumer = await jetstream(nc).consumers.get(USAGE_STREAM, shardConsumer(shard));
        const batch = await consumer.fetch({ max_messages: opts.batch, expires: opts.pullExpiresMs ?? 1000 });
        const msgs: JsMsg[] = [];
        let broken: unknown = null;
        try {
          for await (const m of batch) msgs.push(m);
        } catch (err) {
          // A pull that breaks (missed heartbeats under load, a reconnect) still settles what it got:
          // left unacknowledged, those messages would wait a whole ack wait before anyone saw them again.
          broken = err;
        }
        if (msgs.length) await handle(msgs);
        if (broken) throw broken;
        failures = 0;
      } catch (err) {
        if (stopping) return;
        consumer = null;
        if (failures++ === 0) opts.log(`settler: pulling shard ${shard} failed (${(err as Error).message}); retrying`);
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  };

  const loops = (async () => {
    // Whoever starts first creates the stream and consumers; retried until NATS answers.
    for (let attempt = 0; !stopping; attempt++) {
      try {
        await ensureUsageBus(await Promise.race([link.ready(), stopped]), opts.bus);
        break;
      } catch (err) {
        if (stopping) return;
        if (attempt === 0) opts.log(`settler: cannot set up the usage stream yet (${(err as Error).message}); retrying`);
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(attempt, 6)));
      }
    }
    await Promise.all(Array.from({ length: opts.bus.shards }, (_, shard) => pullShard(shard)));
  })();

  return {
    stats,
    stop: async () => {
      stopping = true;
      onStop();
      for (const wake of [...sleeps]) wake();
      await loops;
    },
  };
}
