import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { jetstream } from "@nats-io/jetstream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Spool } from "../gateway/spool";
import { UsageReporter } from "../gateway/reporter";
import { splitFee, usageCostNano } from "../ledger/money";
import { uuidv7 } from "../lib/ids";
import { type BusConfig, shardOf, shardSubject } from "../fleet/bus-rules";
import { type NatsLink, openNatsLink } from "../fleet/nats";
import { type NatsServer, startNatsServer } from "../fleet/nats-server";
import { usagePublisher } from "../fleet/usage-bus";
import { createTestDb, type TestDb } from "../testing/db";
import type { UsageEvent } from "../usage/contract";
import { untilSettled } from "../usage/crash-world";
import { reserve } from "../usage/reservations";
import { expectEverythingSettledOnce, type ExpectedEvent } from "../usage/settlement-proof";
import { makeBuyer, makeEvent, makeListing, makeProvider, priceInForce, type WorldListing } from "../usage/testing";
import { usageBusLag } from "../fleet/bus-lag";
import { settlementMetricsText } from "../usage/metrics";
import { busBacklog, type SettlerProcess, spawnSettler, until, usageEventCount } from "./testing";

// Issue 20, acceptance 1 (the bus and the settlers), with a real `nats-server -js` and real
// PostgreSQL: usage goes through the proxy's own reporter, spool and publisher into JetStream,
// and settler processes (server/settler/main.ts) settle it. Each test gets a fresh database
// and a fresh NATS server, and ends with the settlement proof (every event stored once at its
// cost, the ledger, rollups and reservations consistent with the events, invariants clean).

const DAY = 24 * 3600 * 1000;
const SHARDS = 3;
const BUS: BusConfig = {
  shards: SHARDS,
  maxAgeMs: 3_600_000,
  maxBytes: 256 * 1024 * 1024,
  replicas: 1,
  duplicateWindowMs: 3_000,
  maxDeliver: 10,
  ackWaitMs: 2_000,
};

let t: TestDb;
let nats: NatsServer;
const links: NatsLink[] = [];
const settlers: SettlerProcess[] = [];
const dirs: string[] = [];
let listings: WorldListing[];

function settlerEnv(extra: Record<string, string> = {}) {
  return {
    DATABASE_URL: t.url,
    NATS_URL: nats.url,
    USAGE_BUS_SHARDS: String(SHARDS),
    USAGE_BUS_DUPLICATE_WINDOW_SECONDS: String(BUS.duplicateWindowMs / 1000),
    USAGE_BUS_MAX_AGE_HOURS: "1",
    USAGE_BUS_MAX_BYTES: String(BUS.maxBytes),
    USAGE_BUS_MAX_DELIVER: String(BUS.maxDeliver),
    USAGE_BUS_ACK_WAIT_SECONDS: String(BUS.ackWaitMs / 1000),
    SETTLEMENT_WINDOW_MS: "50",
    SETTLER_BATCH: "200",
    ...extra,
  };
}

function settler(extra: Record<string, string> = {}) {
  const s = spawnSettler(settlerEnv(extra));
  settlers.push(s);
  return s;
}

function link() {
  const l = openNatsLink(nats.url, { minBackoffMs: 20, maxBackoffMs: 250 });
  links.push(l);
  return l;
}

/** A proxy's usage path without the HTTP in front: its spool, its reporter and the bus publisher. */
function proxyReporter() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tm-bus-spool-"));
  dirs.push(dir);
  const { spool } = Spool.open({ dir, maxBytes: 64 * 1024 * 1024 });
  const reporter = new UsageReporter(usagePublisher(link(), BUS), { spool, flushMs: 10, maxBackoffMs: 200, batchSize: 250 });
  return { reporter, spool };
}

beforeAll(async () => {
  t = await createTestDb(6);
  nats = await startNatsServer();
  const now = Date.now();
  const providers = [await makeProvider(t.db, "bus-a"), await makeProvider(t.db, "bus-b")];
  listings = [];
  for (let i = 0; i < 4; i++) {
    listings.push(
      await makeListing(t.db, providers[i % 2]!, [
        { effectiveFrom: new Date(now - 20 * DAY), inputPer1kNano: BigInt(100_000 + i), outputPer1kNano: BigInt(300_000 + i), cachedInputPer1kNano: 50_000n },
      ]),
    );
  }
});

afterAll(async () => {
  for (const s of settlers) s.child.kill("SIGKILL");
  for (const l of links) await l.close();
  await nats?.dispose();
  await t?.close();
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** `n` events from fresh buyers (some with almost no credit, so part is owed), half spending reservations, with their expected costs. */
async function traffic(n: number): Promise<{ events: UsageEvent[]; expected: ExpectedEvent[] }> {
  const buyers = [];
  for (let i = 0; i < 4; i++) buyers.push(await makeBuyer(t.db, { creditNano: i < 2 ? 1_000_000_000_000n : 30_000_000n, keys: 2 }));
  const keys = buyers.flatMap((b) => b.keyIds.map((keyId) => ({ keyId, orgId: b.orgId })));
  const reservationOf = new Map<string, string>();
  for (const k of keys) reservationOf.set(k.keyId, (await reserve(t.db, { id: uuidv7(), keyId: k.keyId, amountNano: 1_000_000_000n, ttlSeconds: 3600 })).id);
  const events: UsageEvent[] = [];
  const expected: ExpectedEvent[] = [];
  for (let i = 0; i < n; i++) {
    const k = keys[i % keys.length]!;
    const listing = listings[Math.floor(Math.random() * listings.length)]!;
    const event = makeEvent({
      keyId: k.keyId,
      listingId: listing.id,
      reservationId: i % 2 ? reservationOf.get(k.keyId)! : null,
      inputTokens: Math.floor(Math.random() * 5000),
      outputTokens: Math.floor(Math.random() * 2000),
      startedAt: new Date(Date.now() - 60_000 - Math.floor(Math.random() * DAY)),
    });
    const costNano = usageCostNano({ input: event.inputTokens, output: event.outputTokens, cachedInput: 0 }, priceInForce(listing, event.startedAt)!);
    events.push(event);
    expected.push({ id: event.id, buyerOrgId: k.orgId, providerOrgId: listing.providerOrgId, costNano, feeNano: splitFee(costNano, 500).feeNano });
  }
  return { events, expected };
}

/** Records every event through `reporter` and waits until JetStream has acknowledged each (the spool is empty). */
async function publish(reporter: UsageReporter, events: readonly UsageEvent[]) {
  // Queued for sending once journalled: wait for that before the queue can read as empty.
  await Promise.all(events.map((e) => new Promise<void>((r) => reporter.record(e, r))));
  await until("the spool to drain", () => reporter.pending === 0, 60_000);
}

async function settledAll(expected: readonly ExpectedEvent[], probe: NatsLink) {
  await until("every event stored", async () => (await usageEventCount(t.pool)) >= expected.length);
  await until("the bus to be acknowledged", async () => (await busBacklog(probe, SHARDS)) === 0);
  await untilSettled(t.pool);
  await expectEverythingSettledOnce(t.db, t.pool, expected);
  // Each window took one shard's batches.
  expect((await t.pool.query("select window_id from usage_batches group by 1 having count(distinct shard) > 1")).rows).toEqual([]);
}

async function stopSettlers() {
  for (const s of settlers.splice(0)) await s.stop();
}

describe("usage bus and settlers", () => {
  const all: ExpectedEvent[] = [];

  it("events published by two proxies, resent within and after the duplicate window, settle exactly once across two settlers", async () => {
    const a = proxyReporter();
    const b = proxyReporter();
    const { events, expected } = await traffic(1200);
    all.push(...expected);
    const [s1, s2] = [settler(), settler()];
    await Promise.all([s1.ready, s2.ready]);
    await Promise.all([publish(a.reporter, events.slice(0, 600)), publish(b.reporter, events.slice(600, 1100))]);
    // Resent by the other proxy within the duplicate window: JetStream drops them (the reporter counts them duplicate).
    await Promise.all([publish(a.reporter, events.slice(1100)), publish(b.reporter, events.slice(1100))]);
    expect(a.reporter.stats.duplicate + b.reporter.stats.duplicate).toBe(100);
    // Resent after the window: stored again on the bus, the database's primary key drops them.
    await new Promise((r) => setTimeout(r, BUS.duplicateWindowMs + 1_200));
    await publish(a.reporter, events.slice(600, 700));
    await settledAll(all, link());
    // Each batch waited in the shard its events were pulled from (proxies publish by the key's shard).
    const { rows } = await t.pool.query<{ shard: number; key_id: string }>(
      "select distinct b.shard, e.key_id from usage_events e join usage_batches b on b.seq = e.batch_seq",
    );
    expect(rows.filter((r) => r.shard !== shardOf(r.key_id, SHARDS))).toEqual([]);
    expect(new Set(rows.map((r) => r.shard)).size).toBeGreaterThan(1);
    // Both settlers pulled from the same durable consumers.
    expect(s1.batches()).toBeGreaterThan(0);
    expect(s2.batches()).toBeGreaterThan(0);
    a.spool.close();
    b.spool.close();
    await stopSettlers();
  }, 120_000);

  it("a settler SIGKILLed after committing a batch, before acknowledging it, and NATS restarted mid-run: every event once", async () => {
    const a = proxyReporter();
    const b = proxyReporter();
    const { events, expected } = await traffic(2000);
    all.push(...expected);
    const victim = settler({ SETTLER_CRASH_AFTER_COMMIT: "1" });
    await victim.ready;
    await Promise.all([publish(a.reporter, events.slice(0, 400)), publish(b.reporter, events.slice(400, 800))]);
    expect(await victim.exited).toEqual({ code: null, signal: "SIGKILL" });
    const survivor = settler();
    await survivor.ready;
    // NATS dies (SIGKILL: no clean shutdown) while both proxies publish, and comes back with its store; the proxies keep their spools meanwhile.
    const sending = Promise.all([publish(a.reporter, events.slice(800, 1400)), publish(b.reporter, events.slice(1400))]);
    await nats.stop("SIGKILL");
    await new Promise((r) => setTimeout(r, 1_000));
    expect(a.reporter.pending + b.reporter.pending).toBeGreaterThan(0);
    await nats.start();
    await sending;
    expect(a.reporter.stats.failedBatches + b.reporter.stats.failedBatches).toBeGreaterThan(0);
    await settledAll(all, link());
    a.spool.close();
    b.spool.close();
    await stopSettlers();
  }, 180_000);

  it("one bad item never blocks the rest: an invalid event in a batch is rejected and set aside, a message that is not JSON or an empty batch is terminated", async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tm-settler-bad-"));
    dirs.push(dataDir);
    const { events, expected } = await traffic(40);
    all.push(...expected);
    const s = settler({ DATA_DIR: dataDir });
    await s.ready;
    const js = jetstream(await link().ready());
    const bad = { ...makeEvent({ keyId: uuidv7(), listingId: listings[0]!.id }) };
    const subject = shardSubject(shardOf(events[0]!.keyId, SHARDS));
    await js.publish(subject, "{not json", { msgID: uuidv7() });
    await js.publish(subject, "[]", { msgID: uuidv7() });
    // A batch with the bad event among good ones, and (as proxies before batching sent them) lone events.
    await js.publish(subject, JSON.stringify([...events.slice(0, 20), bad]), { msgID: uuidv7() });
    for (const e of events.slice(20)) await js.publish(shardSubject(shardOf(e.keyId, SHARDS)), JSON.stringify(e), { msgID: e.id });
    await settledAll(all, link());
    const setAside = fs
      .readFileSync(path.join(dataDir, "settler-rejected.jsonl"), "utf8")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as { id?: string; reason: string });
    expect(setAside).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ reason: "not a JSON usage event" }),
        expect.objectContaining({ reason: "an empty usage batch" }),
        expect.objectContaining({ id: bad.id, reason: "keyId: no such API key" }),
      ]),
    );
    await stopSettlers();
  }, 120_000);

  it("the bus's lag (pending per consumer, oldest unsettled age) is measured while no settler runs, and is on /metrics", async () => {
    const a = proxyReporter();
    const { events, expected } = await traffic(60);
    all.push(...expected);
    await publish(a.reporter, events);
    await new Promise((r) => setTimeout(r, 1_100));
    const probe = link();
    const lag = await usageBusLag(await probe.ready(), { shards: SHARDS });
    // Messages, not events: a reporter batch is one message per shard.
    const messages = lag.reduce((n, s) => n + s.pending + s.unacknowledged, 0);
    expect(messages).toBeGreaterThan(0);
    expect(messages).toBeLessThanOrEqual(60);
    expect(Math.max(...lag.map((s) => s.oldestAgeSeconds))).toBeGreaterThan(1);
    const metrics = await settlementMetricsText(t.db, { bus: { status: "connected", shards: lag } });
    expect(metrics.body).toMatch(/tokenmarket_usage_bus_pending\{consumer="settle-0"\} \d+/);
    expect(metrics.body).toMatch(/tokenmarket_usage_bus_oldest_unsettled_seconds\{consumer="settle-\d"\} [1-9]/);
    settler();
    await settledAll(all, probe);
    const after = await usageBusLag(await probe.ready(), { shards: SHARDS });
    expect(after.every((s) => s.pending === 0 && s.unacknowledged === 0 && s.oldestAgeSeconds === 0)).toBe(true);
    a.spool.close();
    await stopSettlers();
  }, 120_000);

  it("one settler left of two (the other SIGKILLed) serves every shard in its one loop, each shard's window run as soon as stage 1 has caught up, not at its next turn", async () => {
    const a = proxyReporter();
    // Window turns 10 s apart (the most SETTLEMENT_WINDOW_MS allows): after a turn that settled what came after
    // `since`, the next timed one is at least 10 s after `since`; what settles before then was nudged by stage 1.
    const slow = { SETTLEMENT_WINDOW_MS: "10000" };
    const [gone, left] = [settler(slow), settler(slow)];
    await Promise.all([gone.ready, left.ready]);
    const first = await traffic(100);
    all.push(...first.expected);
    const since = Date.now();
    await publish(a.reporter, first.events);
    await settledAll(all, link());

    gone.child.kill("SIGKILL");
    await gone.exited;
    const before = left.batches();
    const second = await traffic(300);
    all.push(...second.expected);
    await publish(a.reporter, second.events);
    await settledAll(all, link());
    expect(Date.now() - since).toBeLessThan(10_000);
    expect(left.batches()).toBeGreaterThan(before);
    const { rows } = await t.pool.query<{ shard: number }>(
      "select distinct b.shard from usage_batches b join usage_events e on e.batch_seq = b.seq where e.id = any($1)",
      [second.events.map((e) => e.id)],
    );
    expect(rows.length).toBe(SHARDS);
    a.spool.close();
    await stopSettlers();
  }, 120_000);
});
