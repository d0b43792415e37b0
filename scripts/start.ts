// `npm start` / `npm run dev`: one command for the whole platform. Starts an
// embedded PostgreSQL unless DATABASE_URL is set, migrates, seeds the demo,
// builds when needed, runs the web app, restarts a service that exits (giving up,
// and stopping everything, on one that keeps exiting), and shuts everything down in order.
import type { ChildProcess } from "node:child_process";
import { EnvError, parseEnv } from "../server/env";
import { announce, preparePlatform } from "./lib/platform";
import { logger, runPrefixed } from "./lib/run";
import { Supervised } from "./lib/supervise";

const dev = process.argv.includes("--dev");
const log = logger("start");

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
        log(`${why}; stopping the platform`);
        void shutdown(1);
      },
      log,
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

  announce(log, { appUrl, gatewayUrl, signIns, demoKey });
}

main().catch((err) => {
  console.error(err instanceof EnvError ? err.message : err);
  process.exit(1);
});
