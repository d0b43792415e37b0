// Runs an embedded PostgreSQL in its own process, so that the package's exit
// hook (which calls process.exit) never runs inside a launcher or test runner.
// Prints one JSON line {"url": ...} when ready; stops when stdin closes or on SIGTERM.
import fs from "node:fs";
import { initProcessLogger } from "../server/lib/logger";
import { startEmbeddedPg } from "./lib/embedded-pg";

const [dataDir, port, database, fresh] = process.argv.slice(2);
if (!dataDir || !port || !database) {
  console.error("usage: pg-server <dataDir> <port> <database> [fresh]");
  process.exit(2);
}
if (fresh === "fresh") fs.rmSync(dataDir, { recursive: true, force: true });

// stdout carries the ready line its parent reads; the log goes to stderr.
const log = initProcessLogger("pg-server", { fd: 2 });
const pg = await startEmbeddedPg({ dataDir, port: Number(port), databases: [database] });
process.stdout.write(JSON.stringify({ url: pg.url(database), adminUrl: pg.url("postgres") }) + "\n");
log.info({ port: Number(port), database }, "PostgreSQL ready");

let stopping = false;
async function stop() {
  if (stopping) return;
  stopping = true;
  await pg.stop().catch(() => {});
  process.exit(0);
}
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
