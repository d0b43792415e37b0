import path from "node:path";
import type { Env } from "../../server/env";
import { buildIsStale } from "./build";
import { openDatabase, prepareDatabase } from "./database";
import { localSecret } from "./local-secrets";
import { usageNodeOptions } from "./node-flags";
import { runToEnd } from "./run";

/**
 * What `npm start` and `npm run start:fleet` share before their services start: the database
 * (embedded PostgreSQL unless DATABASE_URL), migrated and seeded with the demo; the local
 * secrets; the environment every child gets; and the web app built when stale.
 */
export async function preparePlatform(env: Env, o: { dev: boolean; log: (line: string) => void }) {
  const { log } = o;
  const dataDir = path.resolve(env.DATA_DIR);
  const secrets = {
    keyPepper: env.KEY_PEPPER ?? localSecret(dataDir, "KEY_PEPPER"),
    encryptionKey: env.CATALOG_ENCRYPTION_KEY ?? localSecret(dataDir, "CATALOG_ENCRYPTION_KEY"),
    localWebhookSecret: env.STRIPE_LOCAL_WEBHOOK_SECRET ?? `whsec_local_${localSecret(dataDir, "STRIPE_LOCAL_WEBHOOK_SECRET")}`,
  };
  const database = await openDatabase(env);
  const databaseUrl = database.url;
  const seed = database.seed;
  if (!database.embedded) log(`using DATABASE_URL (${new URL(databaseUrl).host})`);
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

  if (!o.dev && buildIsStale()) {
    log("building the web app (next build)…");
    await runToEnd("build", process.execPath, [next, "build"], { ...childEnv, NODE_ENV: "production" });
  }
  return {
    dataDir,
    pgChild: database.embedded,
    seed,
    signIns,
    demoKey,
    port,
    appUrl,
    childEnv,
    next,
    tsx: path.resolve("node_modules/.bin/tsx"),
    // The web app ingests usage and the worker settles it: both get USAGE_PROCESS_FLAGS (a larger young generation).
    usageOptions: usageNodeOptions(childEnv.NODE_OPTIONS),
  };
}

/** The sign-ins and the demo key with a ready-to-paste request, once everything is starting. */
export function announce(
  log: (line: string) => void,
  p: {
    appUrl: string;
    gatewayUrl: string;
    signIns: Awaited<ReturnType<typeof preparePlatform>>["signIns"];
    demoKey: Awaited<ReturnType<typeof preparePlatform>>["demoKey"];
  },
) {
  log(`tokenmarket is starting at ${p.appUrl}`);
  if (p.signIns.length) {
    log("demo sign-ins:");
    for (const s of p.signIns) log(`  ${s.role.padEnd(10)} ${s.email.padEnd(36)} password: ${s.password}   (${s.org})`);
  }
  const demoKey = p.demoKey;
  if (demoKey) {
    log(`demo API key (${demoKey.org})${demoKey.active ? "" : " — revoked or expired in this database; create a new one under Keys"}:`);
    log(`  ${demoKey.secret}`);
    const model = demoKey.exampleModel ?? "demo-provider/<model>";
    log(
      `  curl ${p.gatewayUrl}/chat/completions -H "Authorization: Bearer ${demoKey.secret}" -H "Content-Type: application/json" ` +
        `-d '{"model":"${model}","messages":[{"role":"user","content":"Hello"}]}'`,
    );
  }
}
