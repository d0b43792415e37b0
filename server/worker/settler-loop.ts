import type { Db } from "../../db/client";
import type { LogLine } from "../lib/logger";
import { settleWindow, type WindowOptions, type WindowResult } from "../usage/settler";

export type SettlerLoop = { stop: () => Promise<void> };

/**
 * Runs settlement windows for as long as it is not stopped: back to back while batches
 * wait (at most one window per `intervalMs`, so a window takes what arrived meanwhile),
 * and every `intervalMs` when idle. Only one window runs at a time across processes (the
 * settler's advisory lock); a failed window is logged and tried again at the next turn.
 */
export function startSettlerLoop(
  db: Db,
  opts: { intervalMs: number; log?: LogLine; onWindow?: (w: WindowResult) => void; window?: WindowOptions },
): SettlerLoop {
  let stopping = false;
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
      try {
        const w = await settleWindow(db, opts.window);
        if (w) opts.onWindow?.(w);
      } catch (err) {
        opts.log?.("settlement window failed", { err: errorChain(err) });
      }
      if (!stopping) await sleep(Math.max(0, opts.intervalMs - (Date.now() - started)));
    }
  })();
  return {
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
