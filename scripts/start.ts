// `npm start` / `npm run dev`: one command for the whole platform. Starts an
// embedded PostgreSQL unless DATABASE_URL is set, migrates, seeds the demo,
// builds when needed, runs the web app, restarts a service that exits (giving up,
// and stopping everything, on one that keeps exiting), and shuts everything down in order.
import type { ChildProcess } from "node:child_process";
import { EnvError, parseEnv } from "../server/env";
import { initProcessLogger } from "../server/lib/logger";
import { announce, preparePlatform } from "./lib/platform";
import { runPrefixed } from "./lib/run";
import { Supervised } from "./lib/supervise";

const dev = process.argv.includes("--dev");
// Every process it starts inherits this: one readable line per entry, behind the process's [name] prefix.
process.env.LOG_FORMAT ??= "pretty";
const logger = initProcessLogger("start", { prefixed: true });
const log = (line: string) => logger.info(line);
/** The banner for the person at the terminal (demo passwords and key): printed, never logged. */
const say = (line: string) => process.stdout.write(`[start] ${line}\n`);

async function main() {
  const env = parseEnv(process.env);
  const { pgChild, seed, signIns, demoKey, port, appUrl, childEnv, next, tsx, usageOptions } = await preparePlatform(env, { dev, log });

  let stopping = false;
  const services: Supervised[] = [];
  const supervise = (name: string, start: () => ChildProcess) => {
    const service = new Supervised(
      name,
      start,
      (why) => {
        logger.error(`${why}; stopping the platform`);
        void shutdown(1);
      },
      (line) => logger.warn(line),
    );
    services.push(service);
    return service;
  };
  if (seed) {
    // The demo listings point at this OpenAI-compatible server.
    supervise("upstream", () => runPrefixed("upstream", tsx, ["server/upstream-demo/main.ts", "--port", String(env.DEMO_UPSTREAM_PORT)], childEnv));
  }
  // Settles usage, expires reservations and keeps usage partitions ahead (server/worker).
  supervise("worker", () => runPrefixed("worker", tsx, ["server/worker/main.ts"], { ...childEnv, NODE_OPTIONS: usageOptions }));
  supervise("web", () =>
    runPrefixed("web", process.execPath, [next, dev ? "dev" : "start", "-p", port], {
      ...childEnv,
      NODE_OPTIONS: usageOptions,
      NODE_ENV: dev ? "development" : "production",
    }),
  );
  // The OpenAI-compatible proxy: its own process, reaching the backend through the web app's tRPC.
  const gatewayUrl = `http://localhost:${env.GATEWAY_PORT}/v1`;
  const gateway = supervise("gateway", () =>
    runPrefixed("gateway", tsx, ["server/gateway/main.ts"], {
      ...childEnv,
      GATEWAY_BACKEND_URL: env.GATEWAY_BACKEND_URL ?? `http://127.0.0.1:${port}/api/trpc`,
      NODE_ENV: "production",
    }),
  );

  async function shutdown(code: number) {
    if (stopping) return;
    stopping = true;
    log("shutting down…");
    // The proxy first (it reports its last usage to the web app), then web and services, the database last.
    await gateway.stop(20_000);
    await Promise.all(services.map((s) => s.stop()));
    if (pgChild) await pgChild.stop();
    log("stopped");
    process.exit(code);
  }
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  announce(say, { appUrl, gatewayUrl, signIns, demoKey });
}

main().catch((err) => {
  if (err instanceof EnvError) logger.fatal(err.message);
  else logger.fatal({ err }, "the platform failed to start");
  process.exit(1);
});
