import path from "node:path";
import { migrate } from "drizzle-orm/node-postgres/migrator";
import type { Db } from "./client";

export const migrationsFolder = path.resolve(process.cwd(), "db/migrations");

/** Applies every committed migration not yet applied (drizzle's journal, in a transaction). */
export async function migrateDb(db: Db): Promise<void> {
  await migrate(db, { migrationsFolder });
}
