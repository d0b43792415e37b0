// `npm start` / `npm run dev`: one command for the whole platform. Starts an
// embedded PostgreSQL unless DATABASE_URL is set, migrates, seeds the demo,
// builds when needed, runs the web app, restarts a service that exits (giving up,
// and stopping everything, on one that keeps exiting), and shuts everything down in order.
import path from "node:path";
import type { ChildProcess } from "node:child_process";
import { EnvError, parseEnv } from "../server/env";
import { buildIsStale } from "./lib/build";
import { localSecret } from "./lib/local-secrets";
import { usageNodeOptions } from "./lib/node-flags";
import { openDatabase, prepareDatabase } from "./lib/database";
import { logger, runPrefixed, runToEnd } from "./lib/run";
import { Supervised } from "./lib/supervise";

const dev = process.argv.includes("--dev");
const log = logger("start");

async function main() {
  const env = parseEnv(process.env);
  const dataDir = path.resolve(env.DATA_DIR);

  const secrets = {
    keyPepper: env.KEY_PEPPER ?? localSecret(dataDir, "KEY_PEPPER"),
    encryptionKey: env.CATALOG_ENCRYPTION_KEY ?? localSecret(dataDir, "CATALOG_ENCRYPTION_KEY"),
    localWebhookSecret: env.STRIPE_LOCAL_WEBHOOK_SECRET ?? `whsec_local_${localSecret(dataDir, "STRIPE_LOCAL_WEBHOOK_SECRET")}`,
  };
  const database = await openDatabase(env);
  const pgChild = database.embedded;
  const databaseUrl = database.url;
  const seed = database.seed;
  if (!pgChild) log(`using DATABASE_URL (${new URL(databaseUrl).host})`);
  const { signIns, seededNow, demoKey } = await prepareDatabase(
    databaseUrl,
    seed
      ? {
          ...secrets,
          upstreamUrl: `http://127.0.0.1:${env.DEMO_UPSTREAM_PORT}/v1`,
          platformFeeBps: env.DEMO_TRAFFIC_HISTORY ? env.PLATFORM_FEE_BPS : undefined,
        }
      : null,
  );
  log(`database migrated${seed ? (seededNow ? "; demo data seeded" : "; demo data checked") : ""}`);

  const port = String(env.PORT);
  const appUrl = env.APP_URL ?? `http://localhost:${port}`;
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    AUTH_SECRET: env.AUTH_SECRET ?? localSecret(dataDir, "AUTH_SECRET"),
    SERVICE_TOKEN: env.SERVICE_TOKEN ?? localSecret(dataDir, "SERVICE_TOKEN"),
    STRIPE_LOCAL_WEBHOOK_SECRET: secrets.localWebhookSecret,
    KEY_PEPPER: secrets.keyPepper,
    CATALOG_ENCRYPTION_KEY: secrets.encryptionKey,
    // Auth.js then builds its URLs from AUTH_URL, not from a request's Host header (so it trusts the host).
    AUTH_URL: appUrl,
    APP_URL: appUrl,
    // A demo tops up through the local checkout unless told otherwise (production refuses it by default).
    ...(seed && process.env.LOCAL_CHECKOUT === undefined ? { LOCAL_CHECKOUT: "true" } : {}),
    NEXT_TELEMETRY_DISABLED: "1",
    // The demo listings' upstream listens on loopback: the outbound policy lets exactly it through.
    ...(seed ? { UPSTREAM_ALLOW_PRIVATE: [process.env.UPSTREAM_ALLOW_PRIVATE, `127.0.0.1:${env.DEMO_UPSTREAM_PORT}`].filter(Boolean).join(",") } : {}),
  };
  const next = path.resolve("node_modules/next/dist/bin/next");

  if (!dev && buildIsStale()) {
    log("building the web app (next build)…");
    await runToEnd("build", process.execPath, [next, "build"], { ...childEnv, NODE_ENV: "production" });
  }

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
  const tsx = path.resolve("node_modules/.bin/tsx");
  if (seed) {
    // The demo listings point at this OpenAI-compatible server.
    supervise("upstream", () => runPrefixed("upstream", tsx, ["server/upstream-demo/main.ts", "--port", String(env.DEMO_UPSTREAM_PORT)], childEnv));
  }
  // Settles usage, expires reservations and keeps usage partitions ahead (server/worker).
  // The web app ingests usage and the worker settles it: both get USAGE_PROCESS_FLAGS (a larger young generation).
  const usageOptions = usageNodeOptions(childEnv.NODE_OPTIONS);
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

  log(`tokenmarket is starting at ${appUrl}`);
  if (signIns.length) {
    log("demo sign-ins:");
    for (const s of signIns) log(`  ${s.role.padEnd(10)} ${s.email.padEnd(36)} password: ${s.password}   (${s.org})`);
  }
  if (demoKey) {
    log(`demo API key (${demoKey.org})${demoKey.active ? "" : " — revoked or expired in this database; create a new one under Keys"}:`);
    log(`  ${demoKey.secret}`);
    const model = demoKey.exampleModel ?? "demo-provider/<model>";
    log(
      `  curl ${gatewayUrl}/chat/completions -H "Authorization: Bearer ${demoKey.secret}" -H "Content-Type: application/json" ` +
        `-d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'`,
    );
  }
}

main().catch((err) => {
  console.error(err instanceof EnvError ? err.message : err);
  process.exit(1);
});
