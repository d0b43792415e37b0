import { describe, expect, it } from "vitest";
import {
  actionOnFailure,
  type BusConfig,
  batchMessages,
  busConfigFrom,
  consumerConfig,
  eventsOfMessage,
  redeliveryDelayMs,
  shardOf,
  streamConfig,
} from "./bus-rules";

const config: BusConfig = { shards: 4, maxAgeMs: 3_600_000, maxBytes: 1 << 30, replicas: 3, duplicateWindowMs: 120_000, maxDeliver: 5, ackWaitMs: 60_000 };

describe("shardOf", () => {
  it("is stable for one key across calls (one buyer's key stays on one shard)", () => {
    const key = "0190d7c5-3a4b-7c2d-8e1f-123456789abc";
    expect(new Set(Array.from({ length: 5 }, () => shardOf(key, 8))).size).toBe(1);
  });

  it("always lands inside the shard range, and spreads keys over every shard", () => {
    const seen = new Map<number, number>();
    for (let i = 0; i < 4000; i++) {
      const s = shardOf(`0190d7c5-3a4b-7c2d-8e1f-${String(i).padStart(12, "0")}`, 8);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(8);
      seen.set(s, (seen.get(s) ?? 0) + 1);
    }
    expect(seen.size).toBe(8);
    // No shard gets more than twice its fair share.
    expect(Math.max(...seen.values())).toBeLessThan(1000);
  });

  it("one shard takes everything", () => {
    expect(shardOf("anything", 1)).toBe(0);
  });
});

describe("stream and consumers", () => {
  it("store on file, refuse new publishes when full, and carry the configured limits in nanoseconds", () => {
    expect(streamConfig(config)).toMatchObject({
      storage: "file",
      discard: "new",
      max_age: 3_600_000_000_000,
      max_bytes: 1 << 30,
      num_replicas: 3,
      duplicate_window: 120_000_000_000,
    });
  });

  it("never keep a duplicate window longer than the stream keeps messages (JetStream refuses that)", () => {
    expect(streamConfig({ ...config, maxAgeMs: 60_000, duplicateWindowMs: 120_000 }).duplicate_window).toBe(60_000_000_000);
  });

  it("one durable consumer per shard, filtered to its subject, explicit acks", () => {
    expect(consumerConfig(config, 2)).toMatchObject({ durable_name: "settle-2", filter_subject: "usage.2", ack_policy: "explicit", max_deliver: 5 });
  });

  it("reads its limits from the environment's units", () => {
    expect(
      busConfigFrom({
        USAGE_BUS_SHARDS: 2,
        USAGE_BUS_MAX_AGE_HOURS: 2,
        USAGE_BUS_MAX_BYTES: 1_048_576,
        USAGE_BUS_REPLICAS: 1,
        USAGE_BUS_DUPLICATE_WINDOW_SECONDS: 30,
        USAGE_BUS_MAX_DELIVER: 7,
        USAGE_BUS_ACK_WAIT_SECONDS: 10,
      }),
    ).toEqual({ shards: 2, maxAgeMs: 7_200_000, maxBytes: 1_048_576, replicas: 1, duplicateWindowMs: 30_000, maxDeliver: 7, ackWaitMs: 10_000 });
  });
});

describe("a message whose settlement failed", () => {
  it.each([
    { label: "first failure: again after 1 s", deliveries: 1, want: { kind: "nak", delayMs: 1000 } },
    { label: "third failure: again after 4 s", deliveries: 3, want: { kind: "nak", delayMs: 4000 } },
    { label: "the delay is capped at 60 s", deliveries: 4, max: 100, want: { kind: "nak", delayMs: 8000 } },
    {
      label: "last allowed delivery: poison, terminated with the reason",
      deliveries: 5,
      want: { kind: "term", reason: "failed 5 deliveries, the last with: boom" },
    },
  ])("$label", ({ deliveries, max, want }) => {
    expect(actionOnFailure(deliveries, max ?? 5, "boom")).toEqual(want);
  });

  it("never waits more than a minute", () => {
    expect(redeliveryDelayMs(50)).toBe(60_000);
  });
});

describe("a reporter batch as bus messages", () => {
  const ids = ["e-3", "e-1", "e-4", "e-2", "e-5"];
  const lines = ids.map((id) => JSON.stringify({ id, pad: "x".repeat(10) }));
  const shards = [1, 0, 1, 0, 1];

  it("one message per shard, carrying exactly that shard's events as a JSON array", () => {
    const msgs = batchMessages(ids, lines, shards, 1 << 20);
    expect(msgs.map((m) => m.subject)).toEqual(["usage.0", "usage.1"]);
    expect(msgs.map((m) => (JSON.parse(m.body) as { id: string }[]).map((e) => e.id))).toEqual([
      ["e-1", "e-2"],
      ["e-3", "e-4", "e-5"],
    ]);
    expect(msgs.flatMap((m) => m.indices).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it("the same events in another order (a spool replayed after a crash) make the same messages and ids", () => {
    const order = [4, 2, 0, 3, 1];
    const again = batchMessages(
      order.map((i) => ids[i]!),
      order.map((i) => lines[i]!),
      order.map((i) => shards[i]!),
      1 << 20,
    );
    const first = batchMessages(ids, lines, shards, 1 << 20);
    expect(again.map((m) => [m.msgId, m.body])).toEqual(first.map((m) => [m.msgId, m.body]));
  });

  it("another composition gets another id; a lone event keeps its own id", () => {
    const [, shard1] = batchMessages(ids, lines, shards, 1 << 20);
    const [, fewer] = batchMessages(ids.slice(0, 4), lines.slice(0, 4), shards.slice(0, 4), 1 << 20);
    expect(fewer!.msgId).not.toBe(shard1!.msgId);
    expect(batchMessages(["e-9"], [lines[0]!], [0], 1 << 20)[0]!.msgId).toBe("e-9");
  });

  it("cuts a shard's events into messages that fit the server's payload limit", () => {
    const many = Array.from({ length: 50 }, (_, i) => `e-${String(i).padStart(2, "0")}`);
    const body = many.map((id) => JSON.stringify({ id, pad: "x".repeat(100) }));
    const msgs = batchMessages(
      many,
      body,
      many.map(() => 0),
      2000,
    );
    expect(msgs.length).toBeGreaterThan(1);
    for (const m of msgs) expect(Buffer.byteLength(m.body)).toBeLessThanOrEqual(2000);
    expect(msgs.flatMap((m) => (JSON.parse(m.body) as { id: string }[]).map((e) => e.id))).toEqual(many);
  });
});

describe("the events of a message", () => {
  it("a batch carries its events, a lone event (from proxies before batching) itself, an empty batch nothing settleable", () => {
    expect(eventsOfMessage([{ id: "a" }, { id: "b" }])).toEqual([{ id: "a" }, { id: "b" }]);
    expect(eventsOfMessage({ id: "a" })).toEqual([{ id: "a" }]);
    expect(eventsOfMessage([])).toBeNull();
  });
});
