import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { inject } from "vitest";
import { parseEnv } from "../../server/env";
import { openDatabase, prepareDatabase, wantsDemoSeed } from "./database";

// The launcher's database step against an existing server (DATABASE_URL), as in
// production: it must migrate there, start nothing embedded, and seed only on request.
const adminUrl = inject("adminUrl");
const demoSecrets = {
  keyPepper: "test-pepper-test-pepper-test-pepper-00",
  encryptionKey: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
  localWebhookSecret: "whsec_local_test_0123456789",
  upstreamUrl: "http://127.0.0.1:9/v1",
};
const created: string[] = [];

async function emptyDatabase(): Promise<string> {
  const name = `launch_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  created.push(name);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function count(url: string, sql: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const { rows } = await c.query(sql);
  await c.end();
  return Number(rows[0].n);
}

afterAll(async () => {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  for (const name of created) await admin.query(`drop database if exists ${name} with (force)`);
  await admin.end();
});

describe("launcher database step with DATABASE_URL", () => {
  it("migrates without seeding when DEMO_SEED is unset, and starts no embedded server", async () => {
    const url = await emptyDatabase();
    const db = await openDatabase(parseEnv({ DATABASE_URL: url }));
    expect(db.embedded).toBeUndefined();
    expect(db.seed).toBe(false);
    const { signIns } = await prepareDatabase(db.url, db.seed ? demoSecrets : null);
    expect(signIns).toEqual([]);
    expect(await count(url, "select count(*) n from information_schema.tables where table_name = 'organizations'")).toBe(1);
    expect(await count(url, "select count(*) n from users")).toBe(0);
  });

  it("seeds the demo with DEMO_SEED=true, once, and returns the sign-ins to print", async () => {
    const url = await emptyDatabase();
    const db = await openDatabase(parseEnv({ DATABASE_URL: url, DEMO_SEED: "true" }));
    const first = await prepareDatabase(db.url, db.seed ? demoSecrets : null);
    expect(first.seededNow).toBe(true);
    expect(first.signIns.map((s) => s.email)).toContain("buyer@demo.tokenmarket.test");
    const users = await count(url, "select count(*) n from users");
    const again = await prepareDatabase(db.url, db.seed ? demoSecrets : null);
    expect(again.seededNow).toBe(false);
    expect(await count(url, "select count(*) n from users")).toBe(users);
    expect(await count(url, "select count(*) n from organizations where is_platform")).toBe(1);
    // The demo buyer's opening credit went through the local checkout and its webhook handler, once.
    expect(await count(url, "select count(*) n from topups where status = 'paid'")).toBe(1);
    expect(await count(url, "select count(*) n from stripe_events where processed_at is not null")).toBe(1);
    expect(await count(url, "select count(*) n from ledger_transfers where code = 'topup'")).toBe(1);
  });
});

describe("the demo seed never lands in a real database", () => {
  it("refuses a database that has users of its own, writing no demo user", async () => {
    const url = await emptyDatabase();
    await prepareDatabase(url, null);
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    await c.query("insert into users (id, email, name) values (gen_random_uuid(), 'cfo@acme.example', 'CFO')");
    await c.end();
    await expect(prepareDatabase(url, demoSecrets)).rejects.toThrow(/refusing to seed the demo into a database that has other users \(cfo@acme.example\)/);
    expect(await count(url, "select count(*) n from users where email like '%@demo.tokenmarket.test'")).toBe(0);
  });

  it.each([
    ["embedded, development", {}, true, true],
    ["embedded, production", { NODE_ENV: "production" }, true, false],
    ["embedded, production, DEMO_SEED=true", { NODE_ENV: "production", DEMO_SEED: "true" }, true, true],
    ["DATABASE_URL, development", {}, false, false],
  ])("seeds the demo: %s", (_label, source, embedded, expected) => {
    expect(wantsDemoSeed(parseEnv(source), embedded)).toBe(expected);
  });
});

describe("configuration", () => {
  it.each([
    ["bad DATABASE_URL", { DATABASE_URL: "not a url" }, /DATABASE_URL/],
    ["short AUTH_SECRET", { AUTH_SECRET: "short" }, /AUTH_SECRET: must be at least 32/],
    ["port out of range", { PORT: "70000" }, /PORT/],
    ["bad DEMO_SEED", { DEMO_SEED: "maybe" }, /DEMO_SEED/],
  ])("names the variable: %s", (_label, source, message) => {
    expect(() => parseEnv(source)).toThrow(message);
  });
  it("needs nothing for a local run", () => {
    const env = parseEnv({});
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBeUndefined();
  });
});
