import pg from "pg";
import type { TestProject } from "vitest/node";
import { createDb, createPool } from "../../db/client";
import { migrateDb } from "../../db/migrate";
import { startPgChild } from "../../scripts/lib/pg-child";
import { env } from "../env";

declare module "vitest" {
  export interface ProvidedContext {
    adminUrl: string;
  }
}

export const TEMPLATE_DB = "tm_template";

function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Starts PostgreSQL for the run (an embedded server in a child process unless
 * TEST_DATABASE_URL is set) and migrates a template database that every test
 * file clones, so each file gets a fresh, migrated database in milliseconds.
 */
export default async function setup(project: TestProject) {
  let adminUrl = env().TEST_DATABASE_URL;
  let stop = async () => {};
  if (!adminUrl) {
    const child = await startPgChild({ dataDir: `.data/test-pg-${env().TEST_PG_PORT}`, port: env().TEST_PG_PORT, database: "postgres", fresh: true });
    adminUrl = child.adminUrl;
    stop = child.stop;
  }
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`drop database if exists ${TEMPLATE_DB} with (force)`);
  await admin.query(`create database ${TEMPLATE_DB}`);
  await admin.end();
  const pool = createPool(withDatabase(adminUrl, TEMPLATE_DB), 1);
  await migrateDb(createDb(pool));
  await pool.end();
  project.provide("adminUrl", adminUrl);
  return stop;
}
