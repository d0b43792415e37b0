import fs from "node:fs";
import { type Consumer, type JsMsg, jetstream } from "@nats-io/jetstream";
import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { DomainError } from "../errors";
import { actionOnFailure, type BusConfig, eventsOfMessage, type MessageAction, redeliveryDelayMs, shardConsumer, USAGE_STREAM } from "../fleet/bus-rules";
import type { NatsLink } from "../fleet/nats";
import { ensureUsageBus } from "../fleet/usage-bus";
import { CLOCK_AHEAD_REASON } from "../usage/rules";
import { type EventResult, reportUsage } from "../usage/settlement";

/**
 * Stage 1 from the usage bus: pulls each shard's durable consumer a few messages at a time (each
 * message carries one event or a proxy's batch of them) and, in one loop for all shards, runs their
 * events through `usage.report`'s own intake (reportUsage: validation, claims by the events' primary
 * key, caps), windowed, as soon as they arrive, their batches marked with the shard so that shard's
 * windows (stage 2, the settler loop per shard) post them. A
 * message is acknowledged only after the transactions that stored all its events committed; a
 * settler that dies before leaves it unacknowledged and JetStream delivers it again
 * (to this settler or another pulling from the same consumer), where the claim makes it a
 * duplicate.
 *
 * One bad item never blocks the rest: an invalid event is answered "rejected" by the
 * intake, recorded beside the settler (like the proxy's rejected.jsonl) and acknowledged;
 * a batch whose transaction fails is split in halves until the event behind it is alone
 * (the others commit), and its message is redelivered with backoff until its last allowed
 * delivery, then terminated with a logged reason.
 */

export type BusSettlerOptions = {
  bus: BusConfig;
  /** Most events one stage-1 transaction settles. */
  batch: number;
  defaultFeeBps: number;
  backlogLimit: number;
  /** Where rejected and poison messages are appended as JSON lines, for a person to look at. */
  rejectedFile: string;
  log: (line: string) => void;
  /** Called after each batch's commit, before its acknowledgements (the crash tests stop the process there). */
  afterCommit?: (messages: number) => Promise<void> | void;
  /**
   * Called when stage 1 has settled every message pulled so far, with the shards it stored new events of
   * since the last call: their windows can run now instead of at their next turn, as nothing more is in hand.
   */
  onCaughtUp?: (shards: number[]) => void;
  /** How long a pull waits for messages when a shard is idle (JetStream's minimum is 1 s). */
  pullExpiresMs?: number;
};

export type BusSettler = {
  readonly stats: { settled: number; duplicate: number; conflict: number; rejected: number; poison: number; batches: number; failedBatches: number };
  stop(): Promise<void>;
};

/** One pulled message and what became of its events: acknowledged only once every one is committed. */
type Parsed = {
  msg: JsMsg;
  /** Events not committed yet, with why (a failure, the proxy's clock ahead, the database busy or down). */
  open: { raw: unknown; reason: string; kind: "failed" | "early" | "wait" }[];
};
/** One event of a pulled message: stage 1 takes the events of all messages of a pull together. */
type Entry = { item: Parsed; raw: unknown };

const PLATFORM = { kind: "platform" } as const;
/**
 * Messages a settler holds of a shard at a time, pulled but not yet settled: a proxy's batch is one
 * message per shard (up to its reporter's batch of events), so a few keep a transaction full while
 * the other settlers pulling the same consumer still get their share of a burst.
 */
const PULL_MESSAGES = 4;
/** Stage 1 is caught up once no message arrived for this long (a proxy's reporter sends a batch every 100 ms or sooner under load). */
const QUIET_MS = 200;

export function startBusSettler(db: Db, link: NatsLink, opts: BusSettlerOptions): BusSettler {
  const stats = { settled: 0, duplicate: 0, conflict: 0, rejected: 0, poison: 0, batches: 0, failedBatches: 0 };
  /** Shards stage 1 stored new events of since the settling loop last ran out of messages. */
  const stored = new Set<number>();
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

  /** Settles `entries` (pulled from `shard`) in one transaction; on failure, halves until the failing event is alone. */
  const settle = async (shard: number, entries: Entry[]): Promise<void> => {
    let results: EventResult[];
    try {
      results = await reportUsage(db, {
        events: entries.map((e) => e.raw),
        service: PLATFORM,
        defaultFeeBps: opts.defaultFeeBps,
        settle: "windowed",
        backlogLimit: opts.backlogLimit,
        wire: true,
        shard,
      });
    } catch (err) {
      stats.failedBatches++;
      const reason = (err as Error).message.split("\n")[0]!.slice(0, 300);
      // Settlement is behind (BUSY) or the database is down: every event waits, none is to blame.
      const busy = err instanceof DomainError && err.code === "BUSY";
      if (busy || !(await databaseAnswers())) {
        if (!busy) opts.log(`settler: the database is unreachable (${reason}); the batch will be delivered again`);
        for (const e of entries) e.item.open.push({ raw: e.raw, reason, kind: "wait" });
        return;
      }
      if (entries.length > 1) {
        const half = Math.ceil(entries.length / 2);
        await settle(shard, entries.slice(0, half));
        await settle(shard, entries.slice(half));
        return;
      }
      entries[0]!.item.open.push({ raw: entries[0]!.raw, reason, kind: "failed" });
      return;
    }
    await opts.afterCommit?.(entries.length);
    stats.batches++;
    if (results.some((r) => r.status === "settled")) stored.add(shard);
    results.forEach((r, i) => {
      const { item, raw } = entries[i]!;
      if (r.status === "rejected" && r.reason === CLOCK_AHEAD_REASON) {
        // The proxy's clock runs ahead of ours: a valid event, just early.
        item.open.push({ raw, reason: r.reason, kind: "early" });
        return;
      }
      if (r.status === "rejected") {
        opts.log(`settler: usage event ${r.id} rejected: ${r.reason ?? "no reason given"}`);
        setAside({ id: r.id, event: raw, reason: r.reason ?? "rejected" });
      }
      stats[r.status]++;
    });
  };

  /** A message whose events are all committed is acknowledged; otherwise delivered again (its committed events then are duplicates). */
  const conclude = (item: Parsed) => {
    const { msg, open } = item;
    if (!open.length) return apply(msg, { kind: "ack" });
    const failed = open.find((o) => o.kind === "failed");
    if (!failed) return apply(msg, { kind: "nak", delayMs: open.some((o) => o.kind === "wait") ? redeliveryDelayMs(msg.info.deliveryCount) : 5_000 });
    const action = actionOnFailure(msg.info.deliveryCount, opts.bus.maxDeliver, failed.reason);
    if (action.kind === "term") {
      stats.poison++;
      opts.log(`settler: usage message ${msg.info.streamSequence} is poison, terminated: ${action.reason}`);
      // Whatever of it is still unsettled goes beside the settler for a person, the innocent events with their own reason.
      for (const o of open) setAside({ event: o.raw, reason: o.kind === "failed" ? action.reason : `in a terminated message, not settled: ${o.reason}` });
    } else opts.log(`settler: usage message ${msg.info.streamSequence} failed (delivery ${msg.info.deliveryCount}): ${failed.reason}`);
    apply(msg, action);
  };

  const handle = async (shard: number, msgs: JsMsg[]) => {
    const items: Parsed[] = [];
    const entries: Entry[] = [];
    for (const msg of msgs) {
      let events: unknown[] | null = null;
      let reason = "not a JSON usage event";
      try {
        events = eventsOfMessage(msg.json());
        reason = "an empty usage batch";
      } catch {}
      if (!events) {
        // No delivery will ever parse it.
        stats.poison++;
        opts.log(`settler: usage message ${msg.info.streamSequence} is poison, terminated: ${reason}`);
        setAside({ event: msg.string().slice(0, 2000), reason });
        apply(msg, { kind: "term", reason });
        continue;
      }
      const item: Parsed = { msg, open: [] };
      items.push(item);
      for (const raw of events) entries.push({ item, raw });
    }
    // A pull of batch messages can carry many times `batch` events: each transaction stays at most `batch`.
    for (let i = 0; i < entries.length; i += opts.batch) await settle(shard, entries.slice(i, i + opts.batch));
    for (const item of items) conclude(item);
  };

  /** Pulled messages the settling loop has not taken yet, in arrival order, and how many of them each shard has. */
  const inbox: { shard: number; msg: JsMsg }[] = [];
  const held = new Array<number>(opts.bus.shards).fill(0);
  /** Woken when messages arrive (the settling loop) and when the loop has settled a shard's (the pulls). */
  const arrivals: (() => void)[] = [];
  const freed: (() => void)[] = [];
  const wakeAll = (list: (() => void)[]) => {
    for (const wake of list) wake();
  };
  const pulls = new Set<{ stop(): void }>();

  const pullShard = async (shard: number) => {
    let consumer: Consumer | null = null;
    let failures = 0;
    while (!stopping) {
      try {
        // Pulled again once the settling loop has settled what the last pull brought: a settler holds few
        // messages of a shard at a time, so the others pulling it get their share of a burst, to its end.
        while (held[shard]! > 0 && !stopping) await new Promise<void>((r) => freed.push(r));
        if (stopping) return;
        const nc = await Promise.race([link.ready(), stopped]);
        if (!consumer) consumer = await jetstream(nc).consumers.get(USAGE_STREAM, shardConsumer(shard));
        const batch = await consumer.fetch({ max_messages: PULL_MESSAGES, expires: opts.pullExpiresMs ?? 1000 });
        pulls.add(batch);
        try {
          // Each message goes to the settling loop as it arrives: a pull answered only at its expiry (fewer
          // messages waiting than it asked for, another settler taking some) delays nothing.
          for await (const m of batch) {
            if (stopping) {
              m.nak();
              continue;
            }
            inbox.push({ shard, msg: m });
            held[shard]!++;
            wakeAll(arrivals.splice(0));
          }
        } finally {
          pulls.delete(batch);
        }
        failures = 0;
      } catch (err) {
        if (stopping) return;
        consumer = null;
        if (failures++ === 0) opts.log(`settler: pulling shard ${shard} failed (${(err as Error).message}); retrying`);
        await sleep(Math.min(5_000, 100 * 2 ** Math.min(failures, 6)));
      }
    }
  };

  /**
   * One loop settles what every shard's pull brought, a shard's messages at a time: whatever arrived, at
   * once, never waiting for a pull to fill. One loop per settler (not per shard) keeps as many stage-1
   * transactions at once as there are settlers, which do not wait on each other's claims.
   */
  const arrivalWithin = (ms: number) =>
    new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        arrivals.splice(arrivals.indexOf(arrived), 1);
        resolve(false);
      }, ms);
      function arrived() {
        clearTimeout(timer);
        resolve(true);
      }
      arrivals.push(arrived);
    });
  const settleLoop = async () => {
    while (!stopping) {
      if (!inbox.length) {
        // Caught up once nothing more arrives for a moment: while a burst is still coming in, the windows' own
        // turns take it in fewer, larger windows (each window has a cost of its own, paid on the same cores).
        if (stored.size && !(await arrivalWithin(QUIET_MS))) {
          opts.onCaughtUp?.([...stored]);
          stored.clear();
        }
        if (!inbox.length && !stopping) await new Promise<void>((r) => arrivals.push(r));
        continue;
      }
      const byShard = new Map<number, JsMsg[]>();
      for (const { shard, msg } of inbox.splice(0)) {
        const list = byShard.get(shard);
        if (list) list.push(msg);
        else byShard.set(shard, [msg]);
      }
      for (const [shard, msgs] of byShard) {
        try {
          await handle(shard, msgs);
        } catch (err) {
          // Its unacknowledged messages are delivered again after the ack wait.
          opts.log(`settler: settling shard ${shard}'s messages failed (${(err as Error).message})`);
        }
        held[shard]! -= msgs.length;
        wakeAll(freed.splice(0));
      }
    }
    // Pulled but never settled here: delivered again at once, to whichever settler pulls next.
    for (const { msg } of inbox.splice(0)) msg.nak();
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
    await Promise.all([settleLoop(), ...Array.from({ length: opts.bus.shards }, (_, shard) => pullShard(shard))]);
  })();

  return {
    stats,
    stop: async () => {
      stopping = true;
      onStop();
      for (const wake of [...sleeps]) wake();
      for (const pull of pulls) pull.stop();
      wakeAll(arrivals.splice(0));
      wakeAll(freed.splice(0));
      await loops;
    },
  };
}
