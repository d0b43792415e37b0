import type { ChildProcess } from "node:child_process";
import path from "node:path";
import { startNatsServer, type NatsServer } from "../../server/fleet/nats-server";
import { startRedisServer, type RedisServer } from "../../server/fleet/redis-server";
import { logger, runPrefixed } from "./run";

/**
 * The pieces `npm run start:fleet` adds to `npm start` (scripts/start-fleet.ts), apart so a
 * test can start the same topology against its own backend: NATS with JetStream and Redis
 * (Debian's nats-server and redis-server, unless NATS_URL / REDIS_URL name running ones),
 * then settler processes and proxies, each with its own log prefix.
 */

export type Brokers = { natsUrl: string; redisUrl: string; stop: () => Promise<void> };

/** NATS (JetStream, file store under `dataDir/nats`) and Redis on free ports, or the servers the environment names. */
export async function startBrokers(o: { dataDir: string; natsUrl?: string; redisUrl?: string }): Promise<Brokers> {
  let nats: NatsServer | null = null;
  let redis: RedisServer | null = null;
  try {
    if (!o.natsUrl) nats = await startNatsServer({ storeDir: path.join(o.dataDir, "nats"), log: logger("nats") });
    if (!o.redisUrl) redis = await startRedisServer({ dir: path.join(o.dataDir, "redis"), log: logger("redis") });
  } catch (err) {
    await nats?.dispose();
    throw new Error(`${(err as Error).message}\nfleet mode needs Debian's nats-server and redis-server: apt-get install -y nats-server redis-server`);
  }
  return {
    natsUrl: o.natsUrl ?? nats!.url,
    redisUrl: o.redisUrl ?? redis!.url,
    // Redis before NATS: the reverse of their start.
    stop: async () => {
      await redis?.stop();
      await nats?.dispose();
    },
  };
}

export type FleetProcess = { name: string; start: () => ChildProcess };

/**
 * Settlers, then proxies (start order; stop them in reverse): `settlers` settler processes and
 * one proxy per port in `gatewayPorts`, each with a spool of its own under `dataDir`.
 */
export function fleetProcesses(o: { env: NodeJS.ProcessEnv; backendUrl: string; dataDir: string; gatewayPorts: number[]; settlers: number }): FleetProcess[] {
  const tsx = path.resolve("node_modules/.bin/tsx");
  const settlers = Array.from({ length: o.settlers }, (_, i) => {
    const name = `settler-${i + 1}`;
    return { name, start: () => runPrefixed(name, tsx, ["server/settler/main.ts"], o.env) };
  });
  const proxies = o.gatewayPorts.map((port, i) => {
    const name = `gateway-${i + 1}`;
    return {
      name,
      start: () =>
        runPrefixed(name, tsx, ["server/gateway/main.ts"], {
          ...o.env,
          GATEWAY_BACKEND_URL: o.backendUrl,
          GATEWAY_PORT: String(port),
          GATEWAY_SPOOL_DIR: path.join(o.dataDir, `gateway-spool-${i + 1}`),
          NODE_ENV: "production",
        }),
    };
  });
  return [...settlers, ...proxies];
}
