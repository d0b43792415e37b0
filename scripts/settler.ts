// A settler in a process of its own, as the worker runs it (server/worker/settler-loop.ts),
// for the settler's crash tests: `node --import tsx scripts/settler.ts <database-url> [options]`.
//   --interval-ms N      at most one window per N ms and shard (default 20)
//   --shards a,b,…       the shards whose windows it runs, a loop each (default 0)
//   --rescue-after-ms N  also settles any other shard whose oldest batch waited N ms (the worker's fallback)
//   --crash-at <point>   SIGKILLs itself at that point of the first window that has batches
//   --pause-at <point>   stops for --pause-ms (default 3000) at that point of the first such window, its
//                        transaction open, then carries on
// Prints {"ready": true} once its loops run, one JSON line per window ({"window": id, "shard": n, "batches": n,
// "events": n}) and {"paused": point} when paused. The pool's connections carry application_name tm-settler, so a test finds the
// window's backend in pg_stat_activity. Stops on SIGTERM (the window running finishes first).
import { createDb, createPool } from "../db/client";
import { initProcessLogger } from "../server/lib/logger";
import type { WindowOptions, WindowPoint } from "../server/usage/settler";
import { startSettlerLoop } from "../server/worker/settler-loop";

const POINTS: readonly WindowPoint[] = ["after-batches", "after-rollups", "after-voids", "after-posting", "before-commit"];

const [url, ...rest] = process.argv.slice(2);
const flag = (name: string) => {
  const i = rest.indexOf(name);
  return i >= 0 ? rest[i + 1] : undefined;
};
const point = (name: string) => {
  const p = flag(name);
  if (p !== undefined && !POINTS.includes(p as WindowPoint)) {
    console.error(`${name}: must be one of ${POINTS.join(", ")}`);
    process.exit(2);
  }
  return p as WindowPoint | undefined;
};
const crashAt = point("--crash-at");
const pauseAt = point("--pause-at");
const intervalMs = Number(flag("--interval-ms") ?? 20);
const pauseMs = Number(flag("--pause-ms") ?? 3000);
const shards = (flag("--shards") ?? "0").split(",").map(Number);
const rescue = flag("--rescue-after-ms");
const rescueAfterMs = rescue === undefined ? undefined : Number(rescue);
const count = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 0);
if (!url || ![intervalMs, pauseMs, rescueAfterMs, ...shards].every(count)) {
  console.error(
    "usage: node --import tsx scripts/settler.ts <database-url> [--interval-ms N] [--shards a,b,…] [--rescue-after-ms N] [--crash-at <point>] [--pause-at <point> [--pause-ms N]]",
  );
  process.exit(2);
}

const log = initProcessLogger("settler", { fd: 2 });
const dbUrl = new URL(url);
dbUrl.searchParams.set("application_name", "tm-settler");
const pool = createPool(dbUrl.toString(), Math.max(4, shards.length + 1));
let paused = false;
const window: WindowOptions = {
  probe: async (at) => {
    if (at === crashAt) process.kill(process.pid, "SIGKILL");
    if (at === pauseAt && !paused) {
      paused = true;
      console.log(JSON.stringify({ paused: at }));
      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  },
};
const db = createDb(pool);
const loops = shards.map((shard, i) =>
  startSettlerLoop(db, {
    intervalMs,
    shard,
    // One loop looks for stranded shards: more would only race each other for them.
    rescueAfterMs: i === 0 ? rescueAfterMs : undefined,
    log: (msg, fields) => log.error(fields ?? {}, msg),
    onWindow: (w) => console.log(JSON.stringify({ window: w.windowId, shard: w.shard, batches: w.batches, events: w.events })),
    window,
  }),
);
console.log(JSON.stringify({ ready: true }));
process.on(
  "SIGTERM",
  () =>
    void Promise.all(loops.map((l) => l.stop()))
      .then(() => pool.end())
      .then(() => process.exit(0)),
);
