// The background worker (`[worker]` under scripts/start.ts): a plain Node process with
// its own small pool that runs runWorkerTick every WORKER_INTERVAL_SECONDS and the usage settler.
import { createDb, createPool } from "../../db/client";
import { env, EnvError } from "../env";
import { initProcessLogger } from "../lib/logger";
import { runWorkerTick } from "./jobs";
import { startSettlerLoop } from "./settler-loop";

const log = initProcessLogger("worker");

async function main() {
  const e = env();
  if (!e.DATABASE_URL) throw new EnvError("DATABASE_URL is not set (start the platform with `npm start`)");
  const pool = createPool(e.DATABASE_URL, 3);
  const db = createDb(pool);
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const tick = async () => {
    try {
      const r = await runWorkerTick(db, new Date(), e.ECONOMY_REFRESH_SECONDS);
      if (r.expiredHolds || r.partitionsCreated || r.expiredTopUps) {
        log.info(r, "worker tick: expired holds and abandoned top-ups, created usage partitions");
      }
    } catch (err) {
      // A failed round (database restarting, say) is retried at the next interval.
      log.error({ err }, "worker tick failed");
    }
    if (!stopping) timer = setTimeout(() => void (running = tick()), e.WORKER_INTERVAL_SECONDS * 1000);
  };

  // Usage settlement: windows over the batches usage.report accepted (server/usage/settler.ts), shard 0's; and, should
  // a usage bus shard's settlers all be gone (or far behind), that shard's too once its oldest batch waited five windows.
  const settler = startSettlerLoop(db, {
    intervalMs: e.SETTLEMENT_WINDOW_MS,
    shard: 0,
    rescueAfterMs: Math.max(15_000, 5 * e.SETTLEMENT_WINDOW_MS),
    log: (msg, fields) => log.error(fields ?? {}, msg),
  });

  const stop = async () => {
    stopping = true;
    clearTimeout(timer);
    await settler.stop();
    await running;
    await pool.end();
    process.exit(0);
  };
  process.on("SIGTERM", () => void stop());
  process.on("SIGINT", () => void stop());
  log.info(
    { intervalSeconds: e.WORKER_INTERVAL_SECONDS, settlementWindowMs: e.SETTLEMENT_WINDOW_MS },
    `running every ${e.WORKER_INTERVAL_SECONDS} s; settling usage every ${e.SETTLEMENT_WINDOW_MS} ms`,
  );
  running = tick();
}

main().catch((err) => {
  if (err instanceof EnvError) log.fatal(err.message);
  else log.fatal({ err }, "worker failed");
  process.exit(1);
});
