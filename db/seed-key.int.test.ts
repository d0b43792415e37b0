import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { catalogEncryptionKey, keyPepper } from "../server/env";
import { resolveKey, revokeKey } from "../server/keys/service";
import { createTestDb, type TestDb } from "../server/testing/db";
import { DEMO_KEY_SECRET, seedDemo, seedDemoKey } from "./seed";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.close());

describe("demo API key seed", () => {
  it("creates one resolvable key for the demo buyer, idempotently, without storing the secret", async () => {
    await seedDemo(t.db, { upstreamUrl: "http://127.0.0.1:9/v1", encryptionKey: catalogEncryptionKey() });
    const first = await seedDemoKey(t.db, keyPepper());
    const second = await seedDemoKey(t.db, keyPepper());
    expect(first).toMatchObject({ secret: DEMO_KEY_SECRET, org: "Demo Buyer", active: true });
    expect(second).toEqual(first);
    const rows = await t.pool.query("select org_id, name, t::text as row from api_keys t");
    expect(rows.rows).toHaveLength(1);
    expect(rows.rows[0].row).not.toContain(DEMO_KEY_SECRET);
    const resolved = await resolveKey(t.db, { pepper: keyPepper(), secret: DEMO_KEY_SECRET });
    expect(resolved).toMatchObject({ status: "active", orgId: rows.rows[0].org_id });
  });

  it("follows a new pepper, and never resurrects a revoked demo key", async () => {
    const otherPepper = "another-local-pepper-0123456789abcdef-xyz";
    await seedDemoKey(t.db, otherPepper);
    expect((await resolveKey(t.db, { pepper: otherPepper, secret: DEMO_KEY_SECRET })).status).toBe("active");
    const { rows } = await t.pool.query("select id, org_id from api_keys");
    await revokeKey(t.db, { orgId: rows[0].org_id, keyId: rows[0].id });
    expect(await seedDemoKey(t.db, otherPepper)).toMatchObject({ active: false });
    expect((await resolveKey(t.db, { pepper: otherPepper, secret: DEMO_KEY_SECRET })).status).toBe("revoked");
    expect((await t.pool.query("select count(*)::int n from api_keys")).rows[0].n).toBe(1);
  });
});
