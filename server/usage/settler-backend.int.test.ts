import fs from "node:fs";
import net from "node:net";
import pg from "pg";
import { afterAll, beforeAll, expect, it } from "vitest";
import { createDb, createPool, type Db } from "../../db/client";
import { migrateDb } from "../../db/migrate";
import { startPgChild, type PgChild } from "../../scripts/lib/pg-child";
import { makeCrashWorld, reportRound, startSettler, untilSettled, type CrashWorld, type SettlerChild } from "./crash-world";
import { expectEverythingSettledOnce, unsettledBatchCount, windowTablesDigest } from "./settlement-proof";

// Issue 18, acceptance 2: the PostgreSQL backend of a settlement window killed while the window
// runs (its transaction open, after posting). Killing a backend with SIGKILL makes PostgreSQL
// end every backend and recover from its log, which would break every other test file sharing
// the test server, so this file runs a PostgreSQL of its own. The settler process (stopped with
// SIGSTOP while the test looks) carries on: its window fails, the next one settles every batch once.

let server: PgChild;
let pool: pg.Pool;
let db: Db;
let url: string;
let world: CrashWorld;
const running: SettlerChild[] = [];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.once("error", reject);
  });
}

let dataDir = "";

beforeAll(async () => {
  const port = await freePort();
  dataDir = `.data/settler-backend-${port}`;
  server = await startPgChild({ dataDir, port, database: "settler", fresh: true });
  url = server.url;
  pool = createPool(url, 6);
  db = createDb(pool);
  await migrateDb(db);
  world = await makeCrashWorld(db);
});
afterAll(async () => {
  for (const s of running) s.process.kill("SIGKILL");
  await pool?.end();
  await server?.stop();
  // Its own server's files (a port chosen per run): nothing is left behind.
  if (dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
});

/** The backend running the paused window: the settler's connection, idle in its transaction, holding the settler's advisory lock. */
async function windowBackend(): Promise<number> {
  const { rows } = await pool.query<{ pid: number }>(`
    select a.pid from pg_stat_activity a
    where a.application_name = 'tm-settler' and a.datname = current_database() and a.state = 'idle in transaction'
      and exists (select 1 from pg_locks l where l.pid = a.pid and l.locktype = 'advisory' and l.granted)`);
  expect(rows).toHaveLength(1);
  return rows[0]!.pid;
}

/** A new pool once the server answers again (after a crash it ends every connection, which the old pool may not know yet, and recovers first). */
async function reconnect(): Promise<void> {
  await pool.end();
  pool = createPool(url, 6);
  db = createDb(pool);
  world.db = db;
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      await pool.query("select 1");
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

for (const kill of ["pg_terminate_backend", "SIGKILL"] as const) {
  it(`the window's backend ended by ${kill} mid-window: nothing of the window stays, the settler recovers and settles every batch once`, async () => {
    await reportRound(world, { events: 300, capped: 12 });
    const waiting = await unsettledBatchCount(pool);
    expect(waiting).toBeGreaterThan(2);
    const before = await windowTablesDigest(pool);

    const settler = startSettler(url, ["--pause-at", "after-posting", "--pause-ms", "5000"]);
    running.push(settler);
    await settler.paused;
    const pid = await windowBackend();
    // Another session: a backend SIGKILLed makes PostgreSQL end it too (and recover); a terminated one does not.
    const bystander = new pg.Client({ connectionString: url });
    await bystander.connect();
    const bystanderLost = new Promise<boolean>((resolve) => {
      bystander.on("error", () => resolve(true));
      setTimeout(() => resolve(false), 2000);
    });
    settler.process.kill("SIGSTOP");
    if (kill === "SIGKILL") process.kill(pid, "SIGKILL");
    else expect((await pool.query("select pg_terminate_backend($1) as ok", [pid])).rows[0].ok).toBe(true);
    expect(await bystanderLost).toBe(kill === "SIGKILL");
    await bystander.end().catch(() => {});
    await reconnect();
    expect(await windowTablesDigest(pool)).toEqual(before);
    expect(await unsettledBatchCount(pool)).toBe(waiting);

    settler.process.kill("SIGCONT");
    await Promise.race([untilSettled(pool), settler.exited.then((e) => Promise.reject(new Error(`the settler died: ${JSON.stringify(e)}`)))]);
    settler.process.kill("SIGTERM");
    expect(await settler.exited).toEqual({ code: 0, signal: null });
    expect(settler.windows()).toBeGreaterThan(0);
    await expectEverythingSettledOnce(db, pool, world.expected);
  });
}
