import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../testing/db";
import { startSettlerLoop } from "../worker/settler-loop";
import { lastBatchSeq } from "./backlog";
import { settlementMetricsText } from "./metrics";
import { makeCrashWorld, reportRound, type CrashWorld } from "./crash-world";
import { release } from "./reservations";
import { expectEverythingSettledOnce } from "./settlement-proof";
import { settleThrough, settleWindow, type WindowPoint } from "./settler";

// Issue #20, "sharded settlers each with their own window": a window takes one usage bus shard's
// batches under that shard's lock. Windows of different shards run at once and still end with every
// acknowledged event settled once (./settlement-proof.ts); two windows of one shard never overlap;
// release settles every shard; the worker's loop rescues a shard nobody settles.

const SHARDS = 4;

let t: TestDb;
let world: CrashWorld;
beforeAll(async () => {
  t = await createTestDb(12);
  world = await makeCrashWorld(t.db);
});
afterAll(() => t.close());

const unsettled = async (where = "true") =>
  (
    await t.pool.query<{ shard: number; n: number }>(
      `select shard, count(*)::int as n from usage_batches where settled_at is null and ${where} group by 1 order by 1`,
    )
  ).rows;

/** A probe that stops a window at `point` until `open()` is called, and says when it got there. */
function gate(point: WindowPoint) {
  let open = () => {};
  let reached = () => {};
  const opened = new Promise<void>((r) => (open = r));
  const arrived = new Promise<void>((r) => (reached = r));
  return {
    probe: async (at: WindowPoint) => {
      if (at !== point) return;
      reached();
      await opened;
    },
    arrived,
    open: () => open(),
  };
}

it("a window of one shard runs while another shard's is open; a second window of the same shard waits for it", async () => {
  await reportRound(world, { events: 400, capped: 10, shards: SHARDS });
  const [a, b] = (await unsettled()).map((r) => r.shard);
  expect(b).toBeDefined();

  const held = gate("after-batches");
  const order: string[] = [];
  const first = settleWindow(t.db, { shard: a, probe: held.probe }).then((w) => {
    order.push("first");
    return w;
  });
  await held.arrived;
  // Shard a's window is open, its batches marked: its lock turns the same shard away, and a waiting window queues behind it.
  expect(await settleWindow(t.db, { shard: a })).toBeNull();
  const queued = settleWindow(t.db, { shard: a, wait: true }).then(() => order.push("queued"));
  // Shard b's window commits meanwhile: different shards do not wait for each other.
  const other = await settleWindow(t.db, { shard: b! });
  expect(other?.shard).toBe(b);
  expect(other!.batches).toBeGreaterThan(0);
  order.push("other committed");
  held.open();
  const w = await first;
  await queued;
  expect(order).toEqual(["other committed", "first", "queued"]);
  expect(w?.shard).toBe(a);
  // Each window took only its own shard's batches.
  const { rows } = await t.pool.query<{ window_id: string; shards: number[] }>(
    "select window_id, array_agg(distinct shard) as shards from usage_batches where window_id is not null group by 1",
  );
  expect(rows.every((r) => r.shards.length === 1)).toBe(true);
  await settleThrough(t.db);
  await expectEverythingSettledOnce(t.db, t.pool, world.expected);
});

it(`${SHARDS} shards' windows in loops of their own while reporters send and reservations are released: every event settled once`, async () => {
  const spans: { shard: number; from: number; to: number }[] = [];
  const started = new Map<number, number>();
  const loops = Array.from({ length: SHARDS }, (_, shard) =>
    startSettlerLoop(t.db, {
      intervalMs: 5,
      shard,
      window: {
        probe: (at) => {
          if (at === "after-batches") started.set(shard, performance.now());
          if (at === "before-commit") spans.push({ shard, from: started.get(shard)!, to: performance.now() });
        },
      },
    }),
  );
  const releases: Promise<{ releasedNano: bigint }>[] = [];
  for (let r = 0; r < 4; r++) {
    const { reservations } = await reportRound(world, { events: 300, capped: 12, shards: SHARDS });
    // Each release first settles every shard's batches acknowledged before it, alongside the loops' windows.
    releases.push(...reservations.slice(0, 3).map((id) => release(t.db, { id })));
  }
  expect((await Promise.all(releases)).some((r) => r.releasedNano > 0n)).toBe(true);
  await settleThrough(t.db);
  await Promise.all(loops.map((l) => l.stop()));

  expect(new Set(spans.map((s) => s.shard)).size).toBe(SHARDS);
  const overlapping = spans.some((x) => spans.some((y) => x.shard !== y.shard && x.from < y.to && y.from < x.to));
  expect(overlapping).toBe(true);
  // The same shard's windows never overlapped.
  for (let shard = 0; shard < SHARDS; shard++) {
    const own = spans.filter((s) => s.shard === shard).sort((x, y) => x.from - y.from);
    for (let i = 1; i < own.length; i++) expect(own[i]!.from).toBeGreaterThanOrEqual(own[i - 1]!.to);
  }
  await expectEverythingSettledOnce(t.db, t.pool, world.expected);
});

it("settling through a batch settles every shard's batches up to it; meanwhile /metrics shows each shard's lag", async () => {
  await reportRound(world, { events: 200, capped: 6, shards: SHARDS });
  const through = await lastBatchSeq(t.db);
  const waiting = await unsettled();
  expect(waiting.length).toBeGreaterThan(1);
  const { body } = await settlementMetricsText(t.db);
  for (const { shard, n } of waiting) {
    expect(body).toContain(`tokenmarket_usage_shard_unsettled_batches{shard="${shard}"} ${n}\n`);
    expect(body).toMatch(new RegExp(`tokenmarket_usage_shard_ledger_lag_seconds\\{shard="${shard}"\\} (?!0\\n)[\\d.e+-]+\\n`));
  }
  await reportRound(world, { events: 100, capped: 4, shards: SHARDS });
  await settleThrough(t.db, { seq: through });
  expect(await unsettled(`seq <= ${through}`)).toEqual([]);
  await settleThrough(t.db);
  await expectEverythingSettledOnce(t.db, t.pool, world.expected);
});

it("the worker's loop settles shard 0 and rescues another shard only once its oldest batch has waited", async () => {
  await reportRound(world, { events: 200, capped: 6, shards: SHARDS });
  const waiting = (await unsettled()).map((r) => r.shard);
  expect(waiting.some((s) => s !== 0)).toBe(true);
  const until = async (check: () => Promise<boolean>) => {
    const deadline = Date.now() + 20_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  // The other shards' settlers are alive (their batches are fresh): the worker leaves them alone.
  const patient = startSettlerLoop(t.db, { intervalMs: 10, shard: 0, rescueAfterMs: 60_000 });
  await until(async () => !(await unsettled()).some((r) => r.shard === 0));
  await new Promise((r) => setTimeout(r, 200));
  await patient.stop();
  expect((await unsettled()).map((r) => r.shard)).toEqual(waiting.filter((s) => s !== 0));

  // No settler took them: once they waited rescueAfterMs, the worker settles every shard.
  const rescuing = startSettlerLoop(t.db, { intervalMs: 10, shard: 0, rescueAfterMs: 500 });
  await until(async () => (await unsettled()).length === 0);
  await rescuing.stop();
  await expectEverythingSettledOnce(t.db, t.pool, world.expected);
});

it("a nudged loop runs its shard's window at once rather than at its next turn, and right after a window another settler has open", async () => {
  // Every round on one shard (rounds use fresh keys, so across SHARDS a round could miss the shard under test).
  const shard = 0;
  await reportRound(world, { events: 200, capped: 6, shards: 1 });
  const pending = async () => (await unsettled(`shard = ${shard}`)).length > 0;
  const until = async (check: () => Promise<boolean>, ms: number) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error("timed out");
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  // Its first turn (at start) settles what waits; the next is a minute away.
  const loop = startSettlerLoop(t.db, { intervalMs: 60_000, shard });
  await until(async () => !(await pending()), 20_000);

  await reportRound(world, { events: 200, capped: 6, shards: 1 });
  await new Promise((r) => setTimeout(r, 300));
  expect(await pending()).toBe(true);
  loop.nudge();
  await until(async () => !(await pending()), 10_000);

  // Another settler's window of the shard is open: the nudged turn waits for it, then settles what came after it.
  await reportRound(world, { events: 100, capped: 4, shards: 1 });
  const held = gate("after-batches");
  const other = settleWindow(t.db, { shard, probe: held.probe });
  await held.arrived;
  await reportRound(world, { events: 100, capped: 4, shards: 1 });
  loop.nudge();
  await new Promise((r) => setTimeout(r, 300));
  expect(await pending()).toBe(true);
  held.open();
  expect((await other)?.shard).toBe(shard);
  await until(async () => !(await pending()), 10_000);
  await loop.stop();
  await settleThrough(t.db);
  await expectEverythingSettledOnce(t.db, t.pool, world.expected);
});
