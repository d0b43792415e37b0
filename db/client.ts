import type { SQL } from "drizzle-orm";
import { drizzle, type NodePgDatabase } from "drizzle-orm/node-postgres";
import { PgDialect } from "drizzle-orm/pg-core";
import pg from "pg";
import { processLogger } from "../server/lib/logger";
import * as schema from "./schema";

export type Db = NodePgDatabase<typeof schema>;
/** A database handle or an open transaction: queries take either. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];
export type DbOrTx = Db | Tx;

// node-postgres returns int8 as string by default; money columns are bigint
// and must come back as bigint, never as a float.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => BigInt(v));

export function createPool(url: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle client losing its connection (server restart) must not crash the process.
  pool.on("error", (err) => processLogger().error({ err: err.message }, "idle database client error"));
  // Nor may a checked-out one between two queries (a transaction whose backend is terminated while
  // Node computes): the pool drops its idle listener while a client is out, so without this the
  // error is unhandled. The transaction's next query fails instead, and the pool discards the client.
  pool.on("connect", (client) => client.on("error", (err) => processLogger().error({ err: err.message }, "database client error")));
  return pool;
}

export function createDb(pool: pg.Pool): Db {
  return drizzle(pool, { schema, casing: "snake_case" });
}

const dialect = new PgDialect();

/**
 * Runs `query` as a named prepared statement: PostgreSQL parses and plans it once per
 * connection instead of at every call. For hot statements whose text never changes (only
 * their parameters): a big statement's planning can cost more than running it.
 */
export async function executePrepared<T>(db: DbOrTx, name: string, query: SQL): Promise<{ rows: T[] }> {
  return (await db._.session.prepareQuery(dialect.sqlToQuery(query), undefined, name, false).execute()) as { rows: T[] };
}
