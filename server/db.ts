import "server-only";
import type pg from "pg";
import { createDb, createPool, type Db } from "../db/client";
import { webEnv } from "./env";

const g = globalThis as unknown as { __tmDb?: { pool: pg.Pool; db: Db } };

/** The web process's database handle, created on first use (kept across dev reloads). */
export function getDb(): Db {
  if (!g.__tmDb) {
    const pool = createPool(webEnv().DATABASE_URL, 20);
    g.__tmDb = { pool, db: createDb(pool) };
  }
  return g.__tmDb.db;
}
