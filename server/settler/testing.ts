import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { jetstreamManager } from "@nats-io/jetstream";
import type pg from "pg";
import type { NatsLink } from "../fleet/nats";
import { shardConsumer, USAGE_STREAM } from "../fleet/bus-rules";

/**
 * Settler processes and bus probes for the fleet's integration tests: a settler is
 * server/settler/main.ts in a child process of its own (Node with tsx's loader, so a
 * SIGKILL reaches the settler itself).
 */

export type SettlerProcess = {
  child: ChildProcess;
  /** Stage-1 batches it committed. */
  batches: () => number;
  output: string[];
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stop: () => Promise<void>;
};

export function spawnSettler(env: Record<string, string>): SettlerProcess {
  const dataDir = env.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), "tm-settler-"));
  const child = spawn(process.execPath, ["--import", "tsx", path.resolve("server/settler/main.ts")], {
    env: { ...process.env, NODE_ENV: "production", DATA_DIR: dataDir, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let batches = 0;
  const output: string[] = [];
  let onReady = () => {};
  const ready = new Promise<void>((r) => {
    onReady = r;
  });
  readline.createInterface({ input: child.stdout! }).on("line", (line) => {
    const msg = JSON.parse(line) as { ready?: boolean; batch?: number };
    if (msg.ready) onReady();
    if (msg.batch) batches++;
  });
  readline.createInterface({ input: child.stderr! }).on("line", (l) => output.push(l));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once("exit", (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    batches: () => batches,
    output,
    ready,
    exited,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}

/** Messages of the usage stream not yet acknowledged by a settler, over every shard's consumer. */
export async function busBacklog(link: NatsLink, shards: number): Promise<number> {
  const jsm = await jetstreamManager(await link.ready());
  let n = 0;
  for (let s = 0; s < shards; s++) {
    const c = await jsm.consumers.info(USAGE_STREAM, shardConsumer(s));
    n += c.num_pending + c.num_ack_pending;
  }
  return n;
}

export async function usageEventCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from usage_events");
  return rows[0]!.n;
}

/** Polls `check` until it holds, at most `ms`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
