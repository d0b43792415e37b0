import { afterAll, beforeAll, expect, it } from "vitest";
import { createTestDb, type TestDb } from "../testing/db";
import { makeCrashWorld, reportRound, settleWithChild, startSettler, untilSettled, type CrashWorld, type SettlerChild } from "./crash-world";
import { release } from "./reservations";
import { expectEverythingSettledOnce, unsettledBatchCount, windowTablesDigest } from "./settlement-proof";
import type { WindowPoint } from "./settler";

// Issue 18, acceptance 2: the settler (scripts/settler.ts, the worker's loop in a process of its
// own) SIGKILLed at each point of a window, and two settlers started at once while reports flow.
// Every acknowledged event ends settled exactly once and every check is clean
// (./settlement-proof.ts); a killed window leaves every table it writes as it was. Issue 20: with
// usage on bus shards, one shard's window killed at each point while the other shards' windows
// run and commit; the others' stand, and the killed shard's batches settle once after.

const POINTS: WindowPoint[] = ["after-batches", "after-rollups", "after-voids", "after-posting", "before-commit"];
const SHARDS = 4;

let t: TestDb;
let world: CrashWorld;
const running: SettlerChild[] = [];

/** What windows have done so far: holds voided, reservations held again, usage owed, capped usage waiting. */
async function windowWork() {
  const { rows } = await t.pool.query<{ voided: number; reheld: number; receivable: bigint; pending_usage: bigint }>(`
    select (select count(*)::int from ledger_pending where status = 'voided') as voided,
           (select count(*)::int from reservations where consumed_nano > 0 and held_nano > 0) as reheld,
           (select coalesce(sum(debits_posted), 0)::int8 from ledger_accounts where kind = 'buyer_receivable') as receivable,
           (select coalesce(sum(pending_usage_nano), 0)::int8 from reservations) as pending_usage`);
  const r = rows[0]!;
  return { voided: r.voided, reheld: r.reheld, receivable: r.receivable, pendingUsage: r.pending_usage };
}

/** Batches waiting for a window, per shard. */
async function waitingByShard(): Promise<Map<number, number>> {
  const { rows } = await t.pool.query<{ shard: number; n: number }>("select shard, count(*)::int as n from usage_batches where settled_at is null group by 1");
  return new Map(rows.map((r) => [r.shard, r.n]));
}

beforeAll(async () => {
  t = await createTestDb(6);
  world = await makeCrashWorld(t.db);
});
afterAll(async () => {
  for (const s of running) s.process.kill("SIGKILL");
  await t.close();
});

for (const point of POINTS) {
  it(`a settler SIGKILLed ${point} leaves nothing; the next settles every batch once`, async () => {
    await reportRound(world, { events: 300, capped: 12 });
    const waiting = await unsettledBatchCount(t.pool);
    expect(waiting).toBeGreaterThan(2);
    const before = await windowTablesDigest(t.pool);
    const work = await windowWork();

    const crashing = startSettler(t.url, ["--crash-at", point]);
    running.push(crashing);
    expect(await crashing.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(crashing.windows()).toBe(0);
    expect(await windowTablesDigest(t.pool)).toEqual(before);
    expect(await unsettledBatchCount(t.pool)).toBe(waiting);

    expect(await settleWithChild(t.url, t.pool)).toBeGreaterThan(0);
    // The window the crash undid had holds to void and hold again, credit to exhaust and capped usage to clear.
    const done = await windowWork();
    expect(done.voided).toBeGreaterThan(work.voided);
    expect(done.reheld).toBeGreaterThan(work.reheld);
    expect(done.receivable).toBeGreaterThan(work.receivable);
    expect(work.pendingUsage).toBeGreaterThan(0n);
    await expectEverythingSettledOnce(t.db, t.pool, world.expected);
  });
}

it("two settlers started at once while two reporters send: windows never overlap, every batch settled by exactly one window", async () => {
  const windowsBefore = Number((await t.pool.query("select count(*) from usage_windows")).rows[0].count);
  // Batches wait when both start, so both go for the first window; more arrive while they run.
  await reportRound(world, { events: 300, capped: 12 });
  const settlers = [startSettler(t.url, ["--interval-ms", "2"]), startSettler(t.url, ["--interval-ms", "2"])];
  running.push(...settlers);
  await Promise.all(settlers.map((s) => s.ready));
  // Releases meanwhile: each waits for the usage acknowledged before it to settle, then returns what is left.
  const releases: Promise<{ releasedNano: bigint }>[] = [];
  for (let r = 0; r < 4; r++) {
    const { reservations } = await reportRound(world, { events: 300, capped: 12 });
    releases.push(...reservations.slice(0, 2).map((id) => release(t.db, { id })));
  }
  const released = await Promise.all(releases);
  expect(released.some((r) => r.releasedNano > 0n)).toBe(true);
  await untilSettled(t.pool);
  for (const s of settlers) s.process.kill("SIGTERM");
  for (const s of settlers) expect(await s.exited).toEqual({ code: 0, signal: null });

  const windows = Number((await t.pool.query("select count(*) from usage_windows")).rows[0].count) - windowsBefore;
  // The rest were settled by the releases, each settling what was acknowledged before it.
  expect(settlers[0]!.windows() + settlers[1]!.windows()).toBeLessThanOrEqual(windows);
  expect(settlers.map((s) => s.windows() > 0)).toEqual([true, true]);
  await expectEverythingSettledOnce(t.db, t.pool, world.expected);
});

for (const point of POINTS) {
  it(`one shard's window SIGKILLed ${point} while the other shards' windows commit: theirs stand, the killed shard's batches settle once after`, async () => {
    await reportRound(world, { events: 300, capped: 12, shards: SHARDS });
    const waiting = await waitingByShard();
    const [victim] = [...waiting].sort((a, b) => b[1] - a[1])[0]!;
    const others = Array.from({ length: SHARDS }, (_, s) => s).filter((s) => s !== victim);
    expect(others.some((s) => waiting.has(s))).toBe(true);

    // The other shards' settler stops inside its first window at the same point for a while, so windows are open together.
    const crashing = startSettler(t.url, ["--shards", String(victim), "--crash-at", point]);
    const rest = startSettler(t.url, ["--shards", others.join(","), "--pause-at", point, "--pause-ms", "500"]);
    running.push(crashing, rest);
    expect(await crashing.exited).toEqual({ code: null, signal: "SIGKILL" });
    expect(crashing.windows()).toBe(0);
    await untilOnly(victim);
    rest.process.kill("SIGTERM");
    expect(await rest.exited).toEqual({ code: 0, signal: null });
    expect(rest.windows()).toBeGreaterThan(0);
    // Nothing of the killed window remains: its shard's batches all wait, as many as before.
    expect((await waitingByShard()).get(victim)).toBe(waiting.get(victim));

    expect(await settleWithChild(t.url, t.pool, String(victim))).toBeGreaterThan(0);
    await expectEverythingSettledOnce(t.db, t.pool, world.expected);
  });
}

/** Waits until only `shard` has batches waiting. */
async function untilOnly(shard: number) {
  const deadline = Date.now() + 30_000;
  while ([...(await waitingByShard()).keys()].some((s) => s !== shard)) {
    if (Date.now() > deadline) throw new Error("other shards' batches still unsettled");
    await new Promise((r) => setTimeout(r, 50));
  }
}
