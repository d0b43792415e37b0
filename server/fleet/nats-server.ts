import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { env } from "../env";
import { freePort } from "../gateway/spawn";

/**
 * A real `nats-server -js` (the Debian package's binary) on a free loopback
 * port with its own temporary store, for tests and the local fleet launcher.
 * `stop()` and `start()` keep the port and the store, so a restart looks to
 * clients like the same server coming back with its streams intact.
 */

export type NatsServer = {
  /** nats://127.0.0.1:<port> */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** The server's log lines (stderr), for test failure messages. */
  readonly output: string[];
  running(): boolean;
  /** Stops the server (SIGTERM: a clean shutdown; SIGKILL: a crash). */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same store. */
  start(): Promise<void>;
  /** Stops it and deletes the store (unless the store dir was given by the caller). */
  dispose(): Promise<void>;
};

export type NatsServerOptions = {
  /** Binary to run; NATS_SERVER_BIN or `nats-server` on PATH by default. */
  bin?: string;
  /** Client port; a free one is picked when absent. */
  port?: number;
  /** JetStream store directory; a fresh temporary one when absent (and deleted by `dispose`). */
  storeDir?: string;
  /** Prefix each server log line and pass it on (the fleet launcher's prefixed logs). */
  log?: (line: string) => void;
  readyTimeoutMs?: number;
};

/** Resolves once the server answers a client handshake with its INFO line and JetStream is up. */
async function waitReady(port: number, child: ChildProcess, output: string[], from: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`nats-server exited (${child.exitCode ?? child.signalCode}):\n${output.join("\n")}`);
    // "Server is ready" is logged after the client listener and JetStream are both up.
    if (output.slice(from).some((l) => l.includes("Server is ready")) && (await answersInfo(port))) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`nats-server not ready on port ${port} after ${timeoutMs} ms:\n${output.join("\n")}`);
}

function answersInfo(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("data", (d) => done(d.toString().startsWith("INFO")));
  });
}

export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const bin = options.bin ?? env().NATS_SERVER_BIN;
  const port = options.port ?? (await freePort());
  const ownStore = !options.storeDir;
  const storeDir = options.storeDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "tm-nats-"));
  const output: string[] = [];
  const timeout = options.readyTimeoutMs ?? 10_000;
  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();

  const start = async () => {
    if (child && child.exitCode === null && child.signalCode === null) return;
    const c = spawn(bin, ["-js", "-a", "127.0.0.1", "-p", String(port), "-sd", storeDir], { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    exited = new Promise<void>((r) => c.once("exit", () => r()));
    const onLine = (l: string) => {
      output.push(l);
      if (output.length > 2_000) output.splice(0, 1_000);
      options.log?.(l);
    };
    readline.createInterface({ input: c.stdout! }).on("line", onLine);
    readline.createInterface({ input: c.stderr! }).on("line", onLine);
    const from = output.length;
    const spawnError = new Promise<never>((_, reject) => c.once("error", (e) => reject(new Error(`cannot run ${bin}: ${e.message}`))));
    await Promise.race([spawnError, waitReady(port, c, output, from, timeout)]);
  };

  const stop = async (signal: NodeJS.Signals = "SIGTERM") => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    c.kill(signal);
    await exited;
  };

  const server: NatsServer = {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    output,
    running: () => !!child && child.exitCode === null && child.signalCode === null,
    stop,
    start,
    dispose: async () => {
      await stop("SIGTERM");
      if (ownStore) fs.rmSync(storeDir, { recursive: true, force: true });
    },
  };
  try {
    await start();
  } catch (e) {
    await server.dispose();
    throw e;
  }
  return server;
}
