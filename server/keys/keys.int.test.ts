import { createHash } from "node:crypto";
import { TRPCError } from "@trpc/server";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ZodError } from "zod";
import { apiKeys, keySpendDaily, listings } from "../../db/schema";
import type { SessionUser } from "../api/trpc";
import { keyPepper } from "../env";
import { createTestDb, type TestDb } from "../testing/db";
import { addMember, callerFor, makeOrg, makeUser, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import { hashSecret } from "./secret";
import { resolveKey, rotateKey, updateKey } from "./service";

let t: TestDb;
let ownerA: SessionUser, devA: SessionUser, financeA: SessionUser, ownerB: SessionUser;
let orgA: { id: string }, orgB: { id: string };

beforeAll(async () => {
  t = await createTestDb();
  ownerA = await makeUser(t.db, "ownerA");
  devA = await makeUser(t.db, "devA");
  financeA = await makeUser(t.db, "financeA");
  ownerB = await makeUser(t.db, "ownerB");
  orgA = await makeOrg(t.db, ownerA);
  await addMember(t.db, orgA.id, devA, "developer");
  await addMember(t.db, orgA.id, financeA, "finance");
  orgB = await makeOrg(t.db, ownerB);
  const provider = await makeOrg(t.db, await makeUser(t.db, "provider"), { name: "Provider" });
  const listing = {
    orgId: provider.id,
    name: "Model",
    contextLength: 8192,
    modalities: ["chat" as const],
    upstreamBaseUrl: "http://127.0.0.1:9/v1",
    upstreamModel: "m",
  };
  await t.db.insert(listings).values([
    { ...listing, slug: "prov/model-x", modelSlug: "model-x", family: "fam-x", status: "published" },
    { ...listing, slug: "prov/secret-draft", modelSlug: "secret-draft", family: "fam-draft", status: "draft" },
  ]);
});
afterAll(() => t.close());

const as = (u: SessionUser) => callerFor(t.db, u);
const service = () => callerFor(t.db, null, TEST_SERVICE_TOKEN);

async function failure(p: Promise<unknown>): Promise<TRPCError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TRPCError);
  return err as TRPCError;
}

/** The message people see: the HTTP error formatter's "field: message" for zod errors, else the domain message. */
function shownMessage(err: TRPCError): string {
  if (err.cause instanceof ZodError) return err.cause.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
  return err.message;
}

/** Every row of every table in the database, as text (pg_dump is not installed here). */
async function dumpDatabase(): Promise<string> {
  const tables = await t.pool.query<{ table_schema: string; table_name: string }>(
    `select table_schema, table_name from information_schema.tables
     where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`,
  );
  expect(tables.rows.map((r) => r.table_name)).toEqual(expect.arrayContaining(["api_keys", "key_state", "users"]));
  const parts: string[] = [];
  for (const { table_schema, table_name } of tables.rows) {
    const rows = await t.pool.query<{ row: string }>(`select t::text as row from "${table_schema}"."${table_name}" t`);
    parts.push(`-- ${table_schema}.${table_name}`, ...rows.rows.map((r) => r.row));
  }
  return parts.join("\n");
}

describe("acceptance 1: the secret is stored nowhere", () => {
  it("after creating a key, neither its row nor a whole-database dump contains the secret", async () => {
    const created = await as(ownerA).keys.create({ name: "Leak check", spendLimitUsd: "50", limitPeriod: "monthly" });
    expect(created.secret).toMatch(/^tm_[0-9A-Za-z]{43}$/);
    const body = created.secret.slice(3);
    const sha256 = createHash("sha256").update(created.secret).digest("hex");
    const b64 = Buffer.from(created.secret).toString("base64");

    const row = await t.pool.query("select * from api_keys where id = $1", [created.id]);
    expect(row.rows).toHaveLength(1);
    const rowText = JSON.stringify(row.rows[0], (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    for (const needle of [created.secret, body, sha256, b64]) expect(rowText).not.toContain(needle);
    expect(row.rows[0].hash).toBe(hashSecret(created.secret, keyPepper()));
    expect(row.rows[0].prefix).toBe(created.secret.slice(0, 11));
    expect(row.rows[0].last4).toBe(created.secret.slice(-4));

    const dump = await dumpDatabase();
    // The dump covers the key's row (its peppered hash is there) …
    expect(dump).toContain(hashSecret(created.secret, keyPepper()));
    // … but not the secret, its random part, a plain hash or an encoding of it.
    for (const needle of [created.secret, body, body.slice(8, -4), sha256, b64]) expect(dump).not.toContain(needle);
  });

  it("the list shows prefix and last 4, never a hash or secret", async () => {
    const created = await as(devA).keys.create({ name: "Listed" });
    const list = await as(ownerA).keys.list();
    const mine = list.find((k) => k.id === created.id)!;
    expect(mine).toMatchObject({ name: "Listed", prefix: created.prefix, last4: created.last4, status: "active", createdBy: "devA" });
    const text = JSON.stringify(list, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    expect(text).not.toContain(created.secret.slice(11, -4));
    expect(text).not.toContain(hashSecret(created.secret, keyPepper()));
    expect(Object.keys(mine)).not.toContain("hash");
  });
});

describe("acceptance 2: who may do what", () => {
  it("a member of another organisation cannot list, see, edit, rotate or revoke the key", async () => {
    const key = await as(ownerA).keys.create({ name: "A's key" });
    expect((await as(ownerB).keys.list()).map((k) => k.id)).not.toContain(key.id);
    expect((await failure(as(ownerB).keys.revoke({ keyId: key.id }))).code).toBe("NOT_FOUND");
    expect((await failure(as(ownerB).keys.update({ keyId: key.id, rpmLimit: 1 }))).code).toBe("NOT_FOUND");
    expect((await failure(as(ownerB).keys.rotate({ keyId: key.id, graceSeconds: 0 }))).code).toBe("NOT_FOUND");
    const still = (await as(ownerA).keys.list()).find((k) => k.id === key.id)!;
    expect(still).toMatchObject({ status: "active", rpmLimit: null, revokedAt: null });
    expect((await service().keys.resolve({ secret: key.secret })).status).toBe("active");
  });

  it("a finance member can list but not create, edit, rotate or revoke", async () => {
    const key = await as(ownerA).keys.create({ name: "Finance sees me" });
    expect((await as(financeA).keys.list()).map((k) => k.id)).toContain(key.id);
    const before = await t.pool.query("select count(*)::int n from api_keys");
    expect((await failure(as(financeA).keys.create({ name: "Nope" }))).code).toBe("FORBIDDEN");
    expect((await failure(as(financeA).keys.revoke({ keyId: key.id }))).code).toBe("FORBIDDEN");
    expect((await failure(as(financeA).keys.update({ keyId: key.id, rpmLimit: 5 }))).code).toBe("FORBIDDEN");
    expect((await failure(as(financeA).keys.rotate({ keyId: key.id, graceSeconds: 0 }))).code).toBe("FORBIDDEN");
    expect((await t.pool.query("select count(*)::int n from api_keys")).rows).toEqual(before.rows);
    expect((await service().keys.resolve({ secret: key.secret })).status).toBe("active");
  });

  it("a developer can create, edit and revoke", async () => {
    const key = await as(devA).keys.create({ name: "Dev key" });
    await as(devA).keys.update({ keyId: key.id, rpmLimit: 60 });
    await as(devA).keys.revoke({ keyId: key.id });
    expect((await as(devA).keys.list()).find((k) => k.id === key.id)).toMatchObject({ rpmLimit: 60, status: "revoked" });
  });

  // Issue #15: developers could lift the spend limits an owner set.
  it("a developer may lower a limit an owner set, never raise or remove it; the owner may", async () => {
    const key = await as(ownerA).keys.create({ name: "Capped", spendLimitUsd: "50", limitPeriod: "monthly", rpmLimit: 100 });
    const refused: [Record<string, unknown>, string][] = [
      [{ spendLimitUsd: "500", limitPeriod: "monthly" }, "spendLimitUsd"],
      [{ spendLimitUsd: "" }, "spendLimitUsd"],
      [{ rpmLimit: 1000 }, "rpmLimit"],
      [{ rpmLimit: null }, "rpmLimit"],
    ];
    for (const [change, field] of refused) {
      const err = await as(devA)
        .keys.update({ keyId: key.id, ...change })
        .catch((e: TRPCError) => e);
      expect(err).toMatchObject({ code: "FORBIDDEN", message: `${field}: only an owner may raise or remove a limit; developers may lower it` });
    }
    expect((await as(devA).keys.list()).find((k) => k.id === key.id)).toMatchObject({ rpmLimit: 100 });
    await as(devA).keys.update({ keyId: key.id, spendLimitUsd: "20", limitPeriod: "monthly", rpmLimit: 10 });
    await as(ownerA).keys.update({ keyId: key.id, spendLimitUsd: "", rpmLimit: null });
    expect((await as(devA).keys.list()).find((k) => k.id === key.id)).toMatchObject({ rpmLimit: null });
  });

  const invalid: [string, Record<string, unknown>, string, RegExp][] = [
    ["negative spend limit", { spendLimitUsd: "-1", limitPeriod: "daily" }, "spendLimitUsd", /more than \$0/],
    ["absurd spend limit", { spendLimitUsd: "1000001", limitPeriod: "monthly" }, "spendLimitUsd", /at most \$1,000,000/],
    ["spend limit without a period", { spendLimitUsd: "10" }, "limitPeriod", /choose daily/],
    ["unknown period", { spendLimitUsd: "10", limitPeriod: "hourly" }, "limitPeriod", /daily, weekly, monthly or lifetime/],
    ["negative rpm", { rpmLimit: -5 }, "rpmLimit", /at least 1/],
    ["absurd rpm", { rpmLimit: 1_000_001 }, "rpmLimit", /at most 1,000,000/],
    ["absurd tpm", { tpmLimit: 2_000_000_000 }, "tpmLimit", /at most 1,000,000,000/],
    ["unknown listing slug", { modelAllowlist: ["prov/model-x", "prov/no-such-model"] }, "modelAllowlist", /"prov\/no-such-model"/],
    ["unknown family", { modelAllowlist: ["no-such-family"] }, "modelAllowlist", /"no-such-family"/],
    [
      "a draft listing is not allowed (nor revealed)",
      { modelAllowlist: ["prov/secret-draft"] },
      "modelAllowlist",
      /"prov\/secret-draft" is not a listed model/,
    ],
    ["a family given as a slug", { modelAllowlist: ["prov/fam-x"] }, "modelAllowlist", /"prov\/fam-x"/],
    ["expiry in the past", { expiresAt: new Date(Date.now() - 60_000) }, "expiresAt", /in the future/],
    ["empty name", { name: "  " }, "name", /is required/],
  ];

  const counts = () => t.pool.query("select (select count(*)::int from api_keys) k, (select coalesce(max(version), 0)::int from key_state) v");

  it.each(invalid)("create refuses %s, naming the field, and writes nothing", async (_label, fields, field, message) => {
    const before = await counts();
    const err = await failure(as(ownerA).keys.create({ name: "Bad", ...fields } as never));
    expect(err.code).toBe("BAD_REQUEST");
    expect(shownMessage(err)).toContain(`${field}: `);
    expect(shownMessage(err)).toMatch(message);
    expect((await counts()).rows).toEqual(before.rows);
  });

  it.each(invalid)("update refuses %s, naming the field, and changes nothing", async (_label, fields, field, message) => {
    const key = await as(ownerA).keys.create({ name: "Edit target", rpmLimit: 10 });
    const before = await t.pool.query("select * from api_keys where id = $1", [key.id]);
    const version = await counts();
    const err = await failure(as(ownerA).keys.update({ keyId: key.id, ...fields } as never));
    expect(err.code).toBe("BAD_REQUEST");
    expect(shownMessage(err)).toContain(`${field}: `);
    expect(shownMessage(err)).toMatch(message);
    expect((await t.pool.query("select * from api_keys where id = $1", [key.id])).rows).toEqual(before.rows);
    expect((await counts()).rows).toEqual(version.rows);
  });

  it("accepts an allowlist of known slugs and families, normalised", async () => {
    const key = await as(ownerA).keys.create({ name: "Allowed", modelAllowlist: ["PROV/model-x", "fam-x", "fam-x"] });
    const resolved = await service().keys.resolve({ secret: key.secret });
    expect(resolved).toMatchObject({ status: "active", modelAllowlist: ["prov/model-x", "fam-x"] });
  });
});

describe("acceptance 3: resolving keys and the revocation signal", () => {
  it("says active, revoked, expired and unknown distinctly", async () => {
    const active = await as(ownerA).keys.create({ name: "Active", rpmLimit: 100, tpmLimit: 50_000, spendLimitUsd: "20", limitPeriod: "weekly" });
    const revoked = await as(ownerA).keys.create({ name: "Revoked" });
    const expired = await as(ownerA).keys.create({ name: "Expired", expiresAt: new Date(Date.now() + 60_000) });
    await as(ownerA).keys.revoke({ keyId: revoked.id });
    // Time passes: the expiry is in the past now.
    await t.db
      .update(apiKeys)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .where(eq(apiKeys.id, expired.id));

    const r = (secret: string) => service().keys.resolve({ secret });
    expect(await r(active.secret)).toMatchObject({
      status: "active",
      keyId: active.id,
      orgId: orgA.id,
      rpmLimit: 100,
      tpmLimit: 50_000,
      spendLimitNano: 20_000_000_000n,
      limitPeriod: "weekly",
      currentPeriodSpendNano: 0n,
      modelAllowlist: [],
      validUntil: null,
    });
    expect(await r(revoked.secret)).toEqual({ status: "revoked", keyId: revoked.id, orgId: orgA.id });
    expect(await r(expired.secret)).toEqual({ status: "expired", keyId: expired.id, orgId: orgA.id });
    expect(await r(`tm_${"A".repeat(43)}`)).toEqual({ status: "unknown" });
    expect(await r("sk-not-even-ours")).toEqual({ status: "unknown" });
    // A secret hashed under another pepper matches nothing.
    expect((await t.pool.query("select count(*)::int n from api_keys where hash = $1", [hashSecret(active.secret, "other-pepper")])).rows[0].n).toBe(0);
  });

  it("resolving records last use", async () => {
    const key = await as(ownerA).keys.create({ name: "Used" });
    expect((await as(ownerA).keys.list()).find((k) => k.id === key.id)!.lastUsedAt).toBeNull();
    await service().keys.resolve({ secret: key.secret });
    expect((await as(ownerA).keys.list()).find((k) => k.id === key.id)!.lastUsedAt).toBeInstanceOf(Date);
  });

  it("the revocation version changes within one second of a revoke, and names the key", async () => {
    const key = await as(ownerA).keys.create({ name: "Watched" });
    const { version: before } = await service().keys.revocationVersion();
    // A second connection pool plays the proxy polling while the revoke commits.
    const started = performance.now();
    const revoked = as(ownerA).keys.revoke({ keyId: key.id });
    let seenAfterMs = -1;
    while (performance.now() - started < 1000) {
      const { version } = await service().keys.revocationVersion();
      if (version > before) {
        seenAfterMs = performance.now() - started;
        break;
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    await revoked;
    console.log(`revocation version changed ${seenAfterMs.toFixed(1)} ms after the revoke was issued`);
    expect(seenAfterMs).toBeGreaterThanOrEqual(0);
    expect(seenAfterMs).toBeLessThan(1000);
    const since = await service().keys.revocationVersion({ since: before });
    expect(since.changedKeyIds).toContain(key.id);
    expect((await service().keys.revocationVersion({ since: since.version })).changedKeyIds).toEqual([]);
  });

  it("edits and rotations move the version too", async () => {
    const key = await as(ownerA).keys.create({ name: "Moving" });
    const v0 = (await service().keys.revocationVersion()).version;
    await as(ownerA).keys.update({ keyId: key.id, tpmLimit: 1000 });
    const v1 = (await service().keys.revocationVersion()).version;
    expect(v1).toBeGreaterThan(v0);
    await as(ownerA).keys.rotate({ keyId: key.id, graceSeconds: 0 });
    expect((await service().keys.revocationVersion()).version).toBeGreaterThan(v1);
  });
});

describe("rotation", () => {
  it("with no grace: a new secret with the same settings, the old key revoked at once", async () => {
    const old = await as(ownerA).keys.create({ name: "Rotate me", rpmLimit: 7, spendLimitUsd: "3", limitPeriod: "daily", modelAllowlist: ["fam-x"] });
    const next = await as(ownerA).keys.rotate({ keyId: old.id, graceSeconds: 0 });
    expect(next.secret).not.toBe(old.secret);
    expect(await service().keys.resolve({ secret: old.secret })).toMatchObject({ status: "revoked" });
    expect(await service().keys.resolve({ secret: next.secret })).toMatchObject({
      status: "active",
      keyId: next.id,
      rpmLimit: 7,
      spendLimitNano: 3_000_000_000n,
      limitPeriod: "daily",
      modelAllowlist: ["fam-x"],
    });
    expect((await as(ownerA).keys.list()).find((k) => k.id === next.id)).toMatchObject({ name: "Rotate me", rotatedFromId: old.id });
    expect((await failure(as(ownerA).keys.rotate({ keyId: old.id, graceSeconds: 0 }))).code).toBe("CONFLICT");
  });

  it("with a grace period the old key keeps working until it ends, then is revoked", async () => {
    const old = await as(ownerA).keys.create({ name: "Graceful" });
    const next = await as(ownerA).keys.rotate({ keyId: old.id, graceSeconds: 3600 });
    const graceEnd = next.oldKeyRevokesAt;
    expect(graceEnd.getTime() - Date.now()).toBeGreaterThan(3590_000);
    expect(await service().keys.resolve({ secret: old.secret })).toMatchObject({ status: "active", validUntil: graceEnd });
    expect((await as(ownerA).keys.list()).find((k) => k.id === old.id)).toMatchObject({ status: "active", revokesAt: graceEnd });
    // Rotated once: rotating again would leave two successors.
    expect((await failure(as(ownerA).keys.rotate({ keyId: old.id, graceSeconds: 0 }))).code).toBe("CONFLICT");
    const pepper = keyPepper();
    expect((await resolveKey(t.db, { pepper, secret: old.secret, now: new Date(graceEnd.getTime() - 1) })).status).toBe("active");
    expect((await resolveKey(t.db, { pepper, secret: old.secret, now: graceEnd })).status).toBe("revoked");
    expect((await resolveKey(t.db, { pepper, secret: next.secret, now: new Date(graceEnd.getTime() + 1000) })).status).toBe("active");
    // Revoking during the grace period cuts it short.
    await as(ownerA).keys.revoke({ keyId: old.id });
    expect(await service().keys.resolve({ secret: old.secret })).toMatchObject({ status: "revoked" });
    expect(await service().keys.resolve({ secret: next.secret })).toMatchObject({ status: "active" });
  });

  it("refuses a grace period over 7 days, naming the field", async () => {
    const key = await as(ownerA).keys.create({ name: "Long grace" });
    const err = await failure(as(ownerA).keys.rotate({ keyId: key.id, graceSeconds: 8 * 86_400 }));
    expect(err.code).toBe("BAD_REQUEST");
    expect(shownMessage(err)).toContain("graceSeconds: ");
    expect(await service().keys.resolve({ secret: key.secret })).toMatchObject({ status: "active", validUntil: null });
  });
});

describe("current-period spend", () => {
  it("sums the lineage's daily spend from the period's UTC start, across a rotation", async () => {
    // Wednesday 18 March 2026; the week began Monday 16th.
    const now = new Date("2026-03-18T15:00:00Z");
    const pepper = keyPepper();
    const first = await as(ownerA).keys.create({ name: "Spender", spendLimitUsd: "5000", limitPeriod: "daily" });
    const spend: [string, bigint][] = [
      ["2026-02-28", 1000n],
      ["2026-03-01", 100n],
      ["2026-03-16", 10n],
    ];
    await t.db.insert(keySpendDaily).values(spend.map(([day, spendNano]) => ({ orgId: orgA.id, keyId: first.id, day, spendNano })));
    const second = await rotateKey(t.db, { pepper, orgId: orgA.id, userId: ownerA.id, keyId: first.id, graceSeconds: 0, now });
    await t.db.insert(keySpendDaily).values({ orgId: orgA.id, keyId: second.id, day: "2026-03-18", spendNano: 1n });
    // Another organisation's spend on the same day never counts.
    const other = await as(ownerB).keys.create({ name: "B" });
    await t.db.insert(keySpendDaily).values({ orgId: orgB.id, keyId: other.id, day: "2026-03-18", spendNano: 77n });

    const rows: [string, "daily" | "weekly" | "monthly" | "lifetime", bigint][] = [
      ["daily: today only", "daily", 1n],
      ["weekly: since Monday", "weekly", 11n],
      ["monthly: since the 1st", "monthly", 111n],
      ["lifetime: everything", "lifetime", 1111n],
    ];
    for (const [label, period, expected] of rows) {
      await updateKey(t.db, { orgId: orgA.id, keyId: second.id, spendLimitUsd: "5000", limitPeriod: period, now });
      const r = await resolveKey(t.db, { pepper, secret: second.secret, now });
      expect(r.status === "active" && r.currentPeriodSpendNano, label).toBe(expected);
    }
  });

  it("the list shows this period's spend against the limit", async () => {
    const key = await as(ownerA).keys.create({ name: "Listed spend", spendLimitUsd: "2.5", limitPeriod: "lifetime" });
    await t.db.insert(keySpendDaily).values({ orgId: orgA.id, keyId: key.id, day: "2020-01-01", spendNano: 1_250_000_000n });
    const row = (await as(financeA).keys.list()).find((k) => k.id === key.id)!;
    expect(row).toMatchObject({ spendLimitNano: 2_500_000_000n, spendPeriod: "lifetime", periodSpendNano: 1_250_000_000n, periodResetsAt: null });
  });
});
