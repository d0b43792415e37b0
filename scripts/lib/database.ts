import path from "node:path";
import { createDb, createPool } from "../../db/client";
import { migrateDb } from "../../db/migrate";
import { seedDemo, seedDemoCredits, seedDemoKey, type DemoKey, type DemoSignIn } from "../../db/seed";
import { seedDemoTraffic } from "../../db/seed-traffic";
import { parseEncryptionKey } from "../../server/lib/encryption-key";
import { processLogger } from "../../server/lib/logger";
import type { Env } from "../../server/env";
import { startPgChild, type PgChild } from "./pg-child";
import { logger } from "./run";

export type Database = { url: string; embedded?: PgChild; seed: boolean };

/**
 * DATABASE_URL selects a server and seeds only with DEMO_SEED=true (demo users
 * have known passwords). Without it, an embedded PostgreSQL keeps its data
 * under DATA_DIR/pg and carries the demo outside production (in production
 * only with DEMO_SEED=true). seedDemo refuses a database with other users.
 */
export async function openDatabase(env: Env): Promise<Database> {
  if (env.DATABASE_URL) return { url: env.DATABASE_URL, seed: wantsDemoSeed(env, false) };
  const dataDir = path.resolve(env.DATA_DIR, "pg");
  processLogger().info(`starting embedded PostgreSQL on port ${env.PG_PORT} (data in ${path.relative(process.cwd(), dataDir)})`);
  const embedded = await startPgChild({ dataDir, port: env.PG_PORT, database: "tokenmarket", onLog: logger("db") });
  return { url: embedded.url, embedded, seed: wantsDemoSeed(env, true) };
}

/** Whether the launcher seeds the demo: asked for with DEMO_SEED=true, or an embedded database outside production. */
export function wantsDemoSeed(env: Env, embedded: boolean): boolean {
  return env.DEMO_SEED || (embedded && env.NODE_ENV !== "production");
}

/** `platformFeeBps`: when given, the demo also gets 30 days of traffic history (db/seed-traffic.ts), settled at that fee. */
export type DemoSecrets = { keyPepper: string; encryptionKey: string; localWebhookSecret: string; upstreamUrl: string; platformFeeBps?: number };

/** Migrates, then seeds the demo when given its secrets. Returns what to print. */
export async function prepareDatabase(url: string, demo: DemoSecrets | null): Promise<{ signIns: DemoSignIn[]; seededNow: boolean; demoKey: DemoKey | null }> {
  const pool = createPool(url, 4);
  try {
    const db = createDb(pool);
    await migrateDb(db);
    if (demo) {
      const result = await seedDemo(db, { upstreamUrl: demo.upstreamUrl, encryptionKey: parseEncryptionKey(demo.encryptionKey) });
      const demoKey = await seedDemoKey(db, demo.keyPepper);
      await seedDemoCredits(db, demo.localWebhookSecret);
      if (demo.platformFeeBps !== undefined) await seedDemoTraffic(db, { feeBps: demo.platformFeeBps });
      return { signIns: result.signIns, seededNow: result.created, demoKey };
    }
    return { signIns: [], seededNow: false, demoKey: null };
  } finally {
    await pool.end();
  }
}
