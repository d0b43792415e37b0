import type { Db } from "../../db/client";
import type { LogLine } from "../lib/logger";
import { staleShards } from "../usage/backlog";
import { settleWindow, type WindowOptions, type WindowResult } from "../usage/settler";

export type SettlerLoop = {
  stop: () => Promise<void>;
  /**
   * A batch of the loop's shard has just committed: its window runs now rather than at the next turn, or
   * right after the window running (this loop's, or another process's: it waits for the shard's lock).
   */
  nudge: () => void;
};

export type SettlerLoopOptions = {
  intervalMs: number;
  /** The shard whose windows it runs (0, the default: reports over HTTP). */
  shard?: number;
  /**
   * Also settles a window of every other shard whose oldest batch has waited this long (the
   * worker's fallback): a shard whose settlers died, or fell behind, is never stranded.
   */
  rescueAfterMs?: number;
  log?: LogLine;
  onWindow?: (w: WindowResult) => void;
  window?: Omit<WindowOptions, "shard">;
};

/**
 * Runs one shard's settlement windows for as long as it is not stopped: back to back while
 * batches wait (at most one window per `intervalMs`, so a window takes what arrived
 * meanwhile), and every `intervalMs` when idle. One window per shard runs at a time across
 * processes (the shard's advisory lock: a loop whose turn finds it taken skips the turn);
 * a failed window is logged and tried again at the next turn.
 */
export function startSettlerLoop(db: Db, opts: SettlerLoopOptions): SettlerLoop {
  const shard = opts.shard ?? 0;
  const settle = async (s: number, wait = false) => {
    try {
      const w = await settleWindow(db, { ...opts.window, shard: s, wait });
      if (w) opts.onWindow?.(w);
    } catch (err) {
      opts.log?.("settlement window failed", { shard: s, err: errorChain(err) });
    }
  };
  let stopping = false;
  let nudged = false;
  let timer: NodeJS.Timeout | undefined;
  let wake: (() => void) | undefined;
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      wake = resolve;
      timer = setTimeout(resolve, ms);
    });
  const loop = (async () => {
    while (!stopping) {
      const started = Date.now();
      // A nudged turn waits out another settler's window of the shard: that window may have started before the batch committed.
      const wait = nudged;
      nudged = false;
      await settle(shard, wait);
      if (opts.rescueAfterMs !== undefined && !stopping) {
        try {
          for (const s of await staleShards(db, { olderThanMs: opts.rescueAfterMs, except: shard })) await settle(s);
        } catch (err) {
          opts.log?.("looking for stranded usage shards failed", { err: errorChain(err) });
        }
      }
      if (!stopping && !nudged) await sleep(Math.max(0, opts.intervalMs - (Date.now() - started)));
    }
  })();
  return {
    nudge: () => {
      nudged = true;
      clearTimeout(timer);
      wake?.();
    },
    stop: async () => {
      stopping = true;
      clearTimeout(timer);
      wake?.();
      await loop;
    },
  };
}

/** An error and its causes ("Failed query: rollback ← terminating connection …"): drizzle wraps the one that matters. */
function errorChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e && parts.length < 4; e = (e as { cause?: unknown }).cause)
    parts.push(e instanceof Error ? e.message.split("\n")[0]! : String(e));
  return parts.join(" ← ");
}
