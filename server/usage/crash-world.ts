import { spawn, type ChildProcess } from "node:child_process";
import readline from "node:readline";
import type pg from "pg";
import { expect } from "vitest";
import type { Db } from "../../db/client";
import { listingPrices } from "../../db/schema";
import { shardOf } from "../fleet/bus-rules";
import { uuidv7 } from "../lib/ids";
import { splitFee, usageCostNano } from "../ledger/money";
import type { UsageEvent } from "./contract";
import { reserve } from "./reservations";
import { reportUsage } from "./settlement";
import { unsettledBatchCount, type ExpectedEvent } from "./settlement-proof";
import { makeBuyer, makeEvent, makeListing, makeProvider, priceInForce, type WorldListing } from "./testing";

/**
 * The traffic of the settler's crash tests: rounds of usage acknowledged by stage 1 only
 * (settle "windowed"), each spending fresh reservations (so a window voids holds and holds
 * the rest again), with buyers whose credit runs out (the rest owed), a provider's own proxy
 * billing more than its reservation holds (capped), duplicates within and across batches,
 * and listing prices that change after events were acknowledged. Every event's cost is
 * computed here from the price histories the world created.
 */

const DAY = 24 * 3600 * 1000;
const FEE_BPS = 500;
const PLATFORM = { kind: "platform" } as const;

export type CrashWorld = {
  db: Db;
  listings: WorldListing[];
  capping: { provider: { id: string; slug: string }; listing: WorldListing };
  expected: ExpectedEvent[];
};

export async function makeCrashWorld(db: Db): Promise<CrashWorld> {
  const now = Date.now();
  const providers = [await makeProvider(db, "settle-a"), await makeProvider(db, "settle-b")];
  const listings: WorldListing[] = [];
  for (let i = 0; i < 4; i++) {
    listings.push(
      await makeListing(db, providers[i % 2]!, [
        { effectiveFrom: new Date(now - 30 * DAY), inputPer1kNano: BigInt(100_000 + i), outputPer1kNano: BigInt(300_000 + i), cachedInputPer1kNano: 50_000n },
        {
          effectiveFrom: new Date(now - 6 * DAY - i * 3600_000),
          inputPer1kNano: BigInt(120_000 + i),
          outputPer1kNano: BigInt(310_000 + i),
          cachedInputPer1kNano: 40_000n,
        },
      ]),
    );
  }
  return { db, listings, capping: { provider: providers[1]!, listing: listings[1]! }, expected: [] };
}

const rnd = (n: number) => Math.floor(Math.random() * n);

function expect1(world: CrashWorld, event: UsageEvent, buyerOrgId: string, listing: WorldListing, costNano?: bigint): ExpectedEvent {
  const full = usageCostNano(
    { input: event.inputTokens, output: event.outputTokens, cachedInput: event.cachedInputTokens },
    priceInForce(listing, event.startedAt)!,
  );
  const cost = costNano ?? full;
  return { id: event.id, buyerOrgId, providerOrgId: listing.providerOrgId, costNano: cost, feeNano: splitFee(cost, FEE_BPS).feeNano };
}

/**
 * Reports `batch` windowed, as a settler pulling `shards` bus shards would (one report per shard, the
 * events by their key's shard), and checks each answer: a new event's acknowledged cost is the one expected.
 */
async function send(
  world: CrashWorld,
  batch: UsageEvent[],
  service: Parameters<typeof reportUsage>[1]["service"],
  want: ReadonlyMap<string, ExpectedEvent>,
  shards: number,
) {
  const byShard = new Map<number, UsageEvent[]>();
  for (const e of batch) {
    const shard = shardOf(e.keyId, shards);
    byShard.set(shard, [...(byShard.get(shard) ?? []), e]);
  }
  for (const [shard, events] of byShard) {
    const results = await reportUsage(world.db, { events, service, defaultFeeBps: FEE_BPS, settle: "windowed", shard });
    for (const r of results) {
      expect(r.status === "settled" || r.status === "duplicate").toBe(true);
      expect({ id: r.id, cost: r.costNano }).toEqual({ id: r.id, cost: want.get(r.id)!.costNano });
    }
  }
}

/**
 * One round of traffic, acknowledged and left for the settler: `events` events from fresh
 * buyers (two with plenty of credit, two with almost none) over fresh reservations, sent by
 * two concurrent reporters in random batches with duplicates, then `capped` events billed by
 * a provider's token past its reservation, then a price change that must not touch them.
 * With `shards`, each report goes to its events' bus shard (as a settler pulling them would).
 * Returns the platform's reservations it made.
 */
export async function reportRound(world: CrashWorld, opts: { events: number; capped: number; shards?: number }): Promise<{ reservations: string[] }> {
  const shards = opts.shards ?? 1;
  const { db, listings } = world;
  const now = Date.now();
  const buyers = [];
  for (let i = 0; i < 4; i++) buyers.push(await makeBuyer(db, { creditNano: i < 2 ? 1_000_000_000_000n : 20_000_000n, keys: 2 }));
  const keys = buyers.flatMap((b) => b.keyIds.map((keyId) => ({ keyId, orgId: b.orgId })));
  const reservationOf = new Map<string, string>();
  for (const k of keys) reservationOf.set(k.keyId, (await reserve(db, { id: uuidv7(), keyId: k.keyId, amountNano: 1_000_000_000n, ttlSeconds: 3600 })).id);

  const round: ExpectedEvent[] = [];
  const events: UsageEvent[] = [];
  for (let i = 0; i < opts.events; i++) {
    const k = keys[rnd(keys.length)]!;
    const listing = listings[rnd(listings.length)]!;
    const event = makeEvent({
      keyId: k.keyId,
      listingId: listing.id,
      reservationId: Math.random() < 0.6 ? reservationOf.get(k.keyId)! : null,
      inputTokens: rnd(5000),
      outputTokens: rnd(2000),
      cachedInputTokens: Math.random() < 0.3 ? rnd(1000) : 0,
      startedAt: new Date(now - 60_000 - rnd(10 * DAY)),
      status: Math.random() < 0.05 ? "error" : "ok",
    });
    events.push(event);
    round.push(expect1(world, event, k.orgId, listing));
  }
  const want = new Map(round.map((x) => [x.id, x]));
  const sends = [...events, ...Array.from({ length: Math.round(opts.events / 5) }, () => ({ ...events[rnd(events.length)]! }))];
  sends.sort(() => Math.random() - 0.5);
  const batches: UsageEvent[][] = [];
  for (let i = 0; i < sends.length; ) {
    const size = 20 + rnd(120);
    batches.push(sends.slice(i, i + size));
    i += size;
  }
  let next = 0;
  const reporter = async () => {
    while (next < batches.length) await send(world, batches[next++]!, PLATFORM, want, shards);
  };
  await Promise.all([reporter(), reporter()]);
  await send(world, batches[rnd(batches.length)]!, PLATFORM, want, shards);

  // A provider's own proxy bills past its reservation: each event costs at most what the reservation has left.
  const { provider, listing } = world.capping;
  const service = { kind: "provider", orgSlug: provider.slug } as const;
  const buyer = buyers[0]!;
  const grant = await reserve(db, { id: uuidv7(), keyId: buyer.keyIds[0]!, listingId: listing.id, amountNano: 8_000_000n, ttlSeconds: 3600, service });
  expect(grant.grantedNano).toBe(8_000_000n);
  const capped = Array.from({ length: opts.capped }, () =>
    makeEvent({
      keyId: buyer.keyIds[0]!,
      listingId: listing.id,
      reservationId: grant.id,
      inputTokens: 4000 + rnd(1000),
      outputTokens: 1000,
      startedAt: new Date(now - 60_000 - rnd(DAY)),
    }),
  );
  // Stage 1 caps a batch's events in id order, and the batches are sent one after the other.
  capped.sort((a, b) => (a.id < b.id ? -1 : 1));
  let room = grant.grantedNano;
  for (const event of capped) {
    const full = expect1(world, event, buyer.orgId, listing).costNano;
    const cost = full < room ? full : room;
    room -= cost;
    round.push(expect1(world, event, buyer.orgId, listing, cost));
  }
  const cappedWant = new Map(round.map((x) => [x.id, x]));
  const half = Math.ceil(capped.length / 2);
  await send(world, capped.slice(0, half), service, cappedWant, shards);
  await send(world, capped.slice(half), service, cappedWant, shards);
  world.expected.push(...round);

  // A price change after the events were acknowledged: they keep the price they were acknowledged at.
  for (const l of listings) {
    const row = {
      effectiveFrom: new Date(now - (1 + rnd(5)) * DAY - rnd(DAY)),
      inputPer1kNano: BigInt(200_000 + rnd(100_000)),
      outputPer1kNano: BigInt(400_000 + rnd(100_000)),
      cachedInputPer1kNano: 30_000n,
    };
    await db.insert(listingPrices).values({ listingId: l.id, ...row });
    l.prices = [...l.prices, row].sort((a, b) => a.effectiveFrom.getTime() - b.effectiveFrom.getTime());
  }
  return { reservations: [...reservationOf.values()] };
}

export type SettlerChild = {
  process: ChildProcess;
  /** Windows it reported settling. */
  windows: () => number;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once its loop runs. */
  ready: Promise<void>;
  /** Resolves when it stops inside a window (--pause-at). */
  paused: Promise<void>;
};

/** Starts scripts/settler.ts on `url` (Node with tsx's loader, so a kill reaches the settler itself, not a wrapper); `--shards a,b` for others than 0. */
export function startSettler(url: string, args: string[] = []): SettlerChild {
  const child = spawn(process.execPath, ["--import", "tsx", "scripts/settler.ts", url, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  let windows = 0;
  let onPause = () => {};
  let onReady = () => {};
  const paused = new Promise<void>((resolve) => (onPause = resolve));
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const msg = JSON.parse(line) as { ready?: boolean; window?: string; paused?: string };
    if (msg.ready) onReady();
    if (msg.window) windows++;
    if (msg.paused) onPause();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return { process: child, windows: () => windows, exited, ready, paused };
}

/** Waits until no batch waits for a window (polling), at most `ms`. */
export async function untilSettled(pool: pg.Pool, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while ((await unsettledBatchCount(pool)) > 0) {
    if (Date.now() > deadline) throw new Error("batches still unsettled");
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A normal settler of `shards` (default 0) run until every batch is settled, then stopped (SIGTERM: it finishes its window and exits 0). */
export async function settleWithChild(url: string, pool: pg.Pool, shards = "0"): Promise<number> {
  const s = startSettler(url, ["--shards", shards]);
  await untilSettled(pool);
  s.process.kill("SIGTERM");
  expect(await s.exited).toEqual({ code: 0, signal: null });
  return s.windows();
}
