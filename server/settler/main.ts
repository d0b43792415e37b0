// A settler process of the fleet: `node --import tsx server/settler/main.ts` with DATABASE_URL and NATS_URL.
// Run any number of them: each pulls every shard's durable consumer (JetStream spreads the
// messages among them), runs stage 1 on what it pulls in one loop and runs each of those shards'
// windows (stage 2: one window per shard at a time across all of them, the shard's advisory lock, so
// windows of different shards commit at once), every SETTLEMENT_WINDOW_MS and as soon as stage 1
// has nothing more in hand. Prints {"ready": true}
// once running, then one JSON line per stage-1 batch ({"batch": n}) and per window
// ({"window": id, ...}). SIGTERM: stops pulling, finishes and acknowledges the batch in hand,
// finishes the running window, exits 0.
//
// Tests only: SETTLER_CRASH_AFTER_COMMIT=n SIGKILLs the process after its n-th batch commits,
// before any of that batch is acknowledged on the bus.
import path from "node:path";
import { createDb, createPool } from "../../db/client";
import { env, EnvError } from "../env";
import { busConfigFrom } from "../fleet/bus-rules";
import { openNatsLink, redactUrl } from "../fleet/nats";
import { initProcessLogger } from "../lib/logger";
import { startSettlerLoop } from "../worker/settler-loop";
import { startBusSettler } from "./bus-settler";

// Named, and on stderr: the usage lines the settlement code logs (batch accepted, window settled) are this
// process's, and stdout is the JSON protocol its parent reads.
initProcessLogger("settler", { fd: 2 });
const log = (line: string) => console.error(line);

function config() {
  const e = env();
  if (!e.DATABASE_URL) throw new EnvError("DATABASE_URL is not set");
  if (!e.NATS_URL) throw new EnvError("NATS_URL is not set (a settler settles usage from the NATS bus)");
  return { e, databaseUrl: e.DATABASE_URL, natsUrl: e.NATS_URL };
}

try {
  const { e, databaseUrl, natsUrl } = config();
  const dbUrl = new URL(databaseUrl);
  dbUrl.searchParams.set("application_name", "tm-settler");
  // A connection for stage 1 and each shard's window at once (one waiting for another settler's), within reason.
  const pool = createPool(dbUrl.toString(), Math.min(16, Math.max(4, 2 * e.USAGE_BUS_SHARDS)));
  const db = createDb(pool);
  const link = openNatsLink(natsUrl, { name: "tokenmarket-settler", log });
  const windows = Array.from({ length: e.USAGE_BUS_SHARDS }, (_, shard) =>
    startSettlerLoop(db, {
      intervalMs: e.SETTLEMENT_WINDOW_MS,
      shard,
      log: (msg, fields) => log(`settler: ${msg} ${JSON.stringify(fields ?? {})}`),
      onWindow: (w) => console.log(JSON.stringify({ window: w.windowId, shard: w.shard, batches: w.batches, events: w.events, lagMs: w.lagMs })),
    }),
  );
  const crashAfter = e.SETTLER_CRASH_AFTER_COMMIT;
  let committed = 0;
  const bus = startBusSettler(db, link, {
    bus: busConfigFrom(e),
    batch: e.SETTLER_BATCH,
    defaultFeeBps: e.PLATFORM_FEE_BPS,
    backlogLimit: e.USAGE_BACKLOG_MAX_BATCHES,
    rejectedFile: path.resolve(e.DATA_DIR, "settler-rejected.jsonl"),
    log,
    afterCommit: (n) => {
      console.log(JSON.stringify({ batch: n }));
      if (crashAfter > 0 && ++committed >= crashAfter) process.kill(process.pid, "SIGKILL");
    },
    onCaughtUp: (shards) => {
      for (const shard of shards) windows[shard]?.nudge();
    },
  });
  log(`settler: settling usage from ${redactUrl(natsUrl)} (${e.USAGE_BUS_SHARDS} shards)`);
  console.log(JSON.stringify({ ready: true }));
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    void bus
      .stop()
      .then(() => Promise.all(windows.map((w) => w.stop())))
      .then(() => link.close())
      .then(() => pool.end())
      .then(
        () => process.exit(0),
        (err: Error) => {
          log(`settler: stopping failed: ${err.message}`);
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
} catch (err) {
  log(err instanceof EnvError ? err.message : String(err));
  process.exit(1);
}
