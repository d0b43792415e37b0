import { spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { env } from "../env";
import { freePort } from "../gateway/spawn";

/**
 * A real `redis-server` (Debian's package) on a free port, for tests and the
 * fleet launcher: shared rate-limit counters only, so nothing is persisted
 * (`--save ""`, no AOF) and its working directory is a temporary one unless
 * `dir` names one. Resolves once it accepts connections.
 */

export type RedisServer = {
  url: string;
  port: number;
  child: ChildProcess;
  output: string[];
  /** SIGTERM (or `signal`), then waits for the exit; removes a temporary directory. */
  stop: (signal?: NodeJS.Signals) => Promise<void>;
};

export async function startRedisServer(opts: { port?: number; dir?: string; log?: (line: string) => void } = {}): Promise<RedisServer> {
  const bin = env().REDIS_SERVER_BIN;
  if (!fs.existsSync(bin)) throw new Error(`${bin} not found: install it with \`apt-get install -y redis-server\``);
  const temporary = !opts.dir;
  const dir = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), "tm-redis-"));
  fs.mkdirSync(dir, { recursive: true });
  // redis-server cannot listen on port 0 and say which it got: ask the OS, and try again if the port is taken meanwhile.
  for (let attempt = 0; ; attempt++) {
    const port = opts.port ?? (await freePort());
    try {
      return await launch(bin, port, dir, temporary, opts.log);
    } catch (err) {
      if (opts.port !== undefined || attempt >= 4 || !/Address already in use/.test((err as Error).message)) {
        if (temporary) fs.rmSync(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

async function launch(bin: string, port: number, dir: string, temporary: boolean, log?: (line: string) => void): Promise<RedisServer> {
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", "--daemonize", "no"];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  const output: string[] = [];
  const onLine = (l: string) => {
    output.push(l);
    if (output.length > 200) output.shift();
    log?.(l);
  };
  readline.createInterface({ input: child.stdout! }).on("line", onLine);
  readline.createInterface({ input: child.stderr! }).on("line", onLine);
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.some((l) => l.includes("Ready to accept connections"))) done(resolve);
    }, 10);
    const deadline = setTimeout(() => done(() => reject(new Error(`redis-server did not start within 10 s:\n${output.join("\n")}`))), 10_000);
    const onExit = (code: number | null) => done(() => reject(new Error(`redis-server exited (${code}):\n${output.join("\n")}`)));
    child.once("exit", onExit);
    function done(then: () => void) {
      clearInterval(timer);
      clearTimeout(deadline);
      child.off("exit", onExit);
      then();
    }
  }).catch(async (err: unknown) => {
    child.kill("SIGKILL");
    await exited;
    throw err;
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    child,
    output,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
      if (temporary) fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
