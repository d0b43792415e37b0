import { spawn, type ChildProcess } from "node:child_process";
import net from "node:net";
import path from "node:path";
import readline from "node:readline";
import { registerSecrets } from "../testing/secrets";

/**
 * Starts the proxy as its own process, as scripts/start.ts does in
 * production (`node --import tsx server/gateway/main.ts`), for tests and
 * benchmarks. Resolves once it listens.
 */

export type GatewayProcess = { url: string; port: number; child: ChildProcess; output: string[]; stop: (signal?: NodeJS.Signals) => Promise<void> };

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

export async function spawnGateway(env: Record<string, string>, port?: number): Promise<GatewayProcess> {
  const p = port ?? (await freePort());
  registerSecrets(env.SERVICE_TOKEN, env.GATEWAY_METRICS_TOKEN);
  const child = spawn(process.execPath, ["--import", "tsx", path.resolve("server/gateway/main.ts")], {
    // Its info lines on the console too: tests read them (and wait for "listening on").
    env: { ...process.env, GATEWAY_HOST: "127.0.0.1", NODE_ENV: "production", LOG_CONSOLE_LEVEL: "info", ...env, GATEWAY_PORT: String(p) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const output: string[] = [];
  readline.createInterface({ input: child.stdout! }).on("line", (l) => output.push(l));
  readline.createInterface({ input: child.stderr! }).on("line", (l) => output.push(l));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (output.some((l) => l.includes("listening on"))) {
        clearInterval(timer);
        resolve();
      }
    }, 20);
    child.once("exit", (code) => {
      clearInterval(timer);
      reject(new Error(`proxy exited (${code}):\n${output.join("\n")}`));
    });
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    url: `http://127.0.0.1:${p}`,
    port: p,
    child,
    output,
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Waits until the proxy has no unacknowledged usage (every event settled or answered). */
export async function drained(g: GatewayProcess) {
  for (let i = 0; i < 300; i++) {
    const h = (await (await fetch(`${g.url}/healthz`)).json()) as { unreported: number };
    if (h.unreported === 0) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("usage never drained");
}
