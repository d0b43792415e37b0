import type { ChildProcess } from "node:child_process";
import { stopChild } from "./run";

/**
 * Keeps a platform service running: a service that exits is started again after
 * a growing pause, so one crash does not take the whole platform down; a service
 * that keeps exiting (5 times within a minute) is given up on, and the launcher
 * stops the platform saying which service and why.
 */

export const RESTART_LIMIT = { maxExits: 5, windowMs: 60_000, firstDelayMs: 250, maxDelayMs: 8_000 };

/** After an exit at `now` (exits: the earlier ones' times), how long to wait before restarting, or null to give up. */
export function restartDelay(exits: readonly number[], now: number, limit = RESTART_LIMIT): number | null {
  const recent = exits.filter((t) => now - t < limit.windowMs).length + 1;
  if (recent >= limit.maxExits) return null;
  return Math.min(limit.maxDelayMs, limit.firstDelayMs * 2 ** (recent - 1));
}

export class Supervised {
  child: ChildProcess;
  private readonly exits: number[] = [];
  private stopping = false;
  private timer: NodeJS.Timeout | null = null;
  /** The end of the service's error output, to say why it gave up. */
  private lastError = "";

  constructor(
    readonly name: string,
    private readonly start: () => ChildProcess,
    private readonly giveUp: (why: string) => void,
    private readonly log: (line: string) => void,
  ) {
    this.child = this.launch();
  }

  private launch(): ChildProcess {
    const child = this.start();
    child.stderr?.on("data", (d: Buffer) => {
      const text = d.toString("utf8").trim();
      if (text) this.lastError = text.split("\n").slice(-3).join(" | ").slice(-500);
    });
    child.once("exit", (code, signal) => {
      if (this.stopping) return;
      const now = Date.now();
      const delay = restartDelay(this.exits, now);
      this.exits.push(now);
      const how = signal ?? `code ${code}`;
      if (delay === null) {
        this.giveUp(`${this.name} exited ${RESTART_LIMIT.maxExits} times within a minute (last: ${how}${this.lastError ? `; ${this.lastError}` : ""})`);
        return;
      }
      this.log(`${this.name} exited (${how}); restarting in ${delay} ms`);
      this.timer = setTimeout(() => {
        this.timer = null;
        if (!this.stopping) this.child = this.launch();
      }, delay);
    });
    return child;
  }

  async stop(graceMs?: number): Promise<void> {
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    await stopChild(this.child, graceMs);
  }
}
