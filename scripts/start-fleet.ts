// `npm run start:fleet`: the platform as a fleet on one machine. Everything `npm start` runs, plus
// NATS with JetStream and Redis (Debian's nats-server and redis-server; NATS_URL / REDIS_URL use
// running ones instead), two settler processes settling usage from the bus, and two proxies
// (GATEWAY_PORT and the port after it) that publish usage to the bus, take broadcasts from the
// backend and share rate limits in Redis. Each process logs with its own prefix; Ctrl-C or
// SIGTERM stops them in the reverse order of their start, the database last.
import type { ChildProcess } from "node:child_process";
import { EnvError, parseEnv } from "../server/env";
import { fleetProcesses, startBrokers } from "./lib/fleet";
import { announce, preparePlatform } from "./lib/platform";
import { logger, runPrefixed } from "./lib/run";
import { Supervised } from "./lib/supervise";

const log = logger("fleet");

async function main() {
  const env = parseEnv(process.env);
  const platform = await preparePlatform(env, { dev: false, log });
  const { pgChild, seed, signIns, demoKey, port, appUrl, next, tsx, usageOptions, dataDir } = platform;
  const brokers = await startBrokers({ dataDir, natsUrl: env.NATS_URL, redisUrl: env.REDIS_URL });
  log(`NATS at ${brokers.natsUrl}, Redis at ${brokers.redisUrl}`);
  // Every process of the fleet reaches the same NATS and Redis: the web app broadcasts on NATS, proxies and settlers use both.
  const childEnv: NodeJS.ProcessEnv = { ...platform.childEnv, NATS_URL: brokers.natsUrl, REDIS_URL: brokers.redisUrl };

  let stopping = false;
  const services: Supervised[] = [];
  const supervise = (name: string, start: () => ChildProcess) => {
    services.push(
      new Supervised(
        name,
        start,
        (why) => {
          log(`${why}; stopping the fleet`);
          void shutdown(1);
        },
        log,
      ),
    );
  };
  if (seed) supervise("upstream", () => runPrefixed("upstream", tsx, ["server/upstream-demo/main.ts", "--port", String(env.DEMO_UPSTREAM_PORT)], childEnv));
  supervise("worker", () => runPrefixed("worker", tsx, ["server/worker/main.ts"], { ...childEnv, NODE_OPTIONS: usageOptions }));
  supervise("web", () =>
    runPrefixed("web", process.execPath, [next, "start", "-p", port], { ...childEnv, NODE_OPTIONS: usageOptions, NODE_ENV: "production" }),
  );
  const gatewayPorts = [env.GATEWAY_PORT, env.GATEWAY_PORT + 1];
  for (const p of fleetProcesses({
    env: childEnv,
    backendUrl: env.GATEWAY_BACKEND_URL ?? `http://127.0.0.1:${port}/api/trpc`,
    dataDir,
    gatewayPorts,
    settlers: 2,
  }))
    supervise(p.name, p.start);

  async function shutdown(code: number) {
    if (stopping) return;
    stopping = true;
    log("shutting down…");
    // Reverse order of start: the proxies hand their last usage to the bus, the settlers settle what they hold, then the rest.
    for (const s of [...services].reverse()) await s.stop(s.name.startsWith("gateway") ? 20_000 : undefined);
    await brokers.stop();
    if (pgChild) await pgChild.stop();
    log("stopped");
    process.exit(code);
  }
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));

  announce(log, { appUrl, gatewayUrl: `http://localhost:${gatewayPorts[0]}/v1`, signIns, demoKey });
  log(`second proxy: http://localhost:${gatewayPorts[1]}/v1`);
}

main().catch((err) => {
  console.error(err instanceof EnvError ? err.message : err);
  process.exit(1);
});
