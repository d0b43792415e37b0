import { randomBytes } from "node:crypto";
import pg from "pg";
import { inject } from "vitest";
import { createDb, createPool, type Db } from "../../db/client";

export type TestDb = { db: Db; pool: pg.Pool; url: string; close: () => Promise<void> };

/** A fresh database cloned from the migrated template; dropped by `close()`. */
export async function createTestDb(poolSize = 10): Promise<TestDb> {
  const adminUrl = inject("adminUrl");
  const name = `t_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name} template tm_template`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  const pool = createPool(url, poolSize);
  return {
    db: createDb(pool),
    pool,
    url,
    close: async () => {
      await pool.end();
      const a = new pg.Client({ connectionString: adminUrl });
      await a.connect();
      await a.query(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}
