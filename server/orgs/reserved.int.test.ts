import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { organizations } from "../../db/schema";
import { createTestDb, type TestDb } from "../testing/db";
import { callerFor, codeOf, makeUser } from "../testing/fixtures";
import { ensurePlatformOrg } from "./service";

// Issue #15: createOrg accepted the slug `platform`, and `npm run platform:create` then
// marked that organisation as the platform, handing its members the platform's books.
let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.close());

const platforms = async () => (await t.pool.query("select slug from organizations where is_platform")).rows.map((r: { slug: string }) => r.slug);

describe("reserved organisation names", () => {
  it("refuses the slug platform and names that slugify to a reserved word, writing nothing", async () => {
    const user = await makeUser(t.db, "squatter");
    const before = (await t.pool.query("select count(*)::int n from organizations")).rows[0].n;
    await expect(callerFor(t.db, user).orgs.create({ name: "Totally ours", slug: "platform" })).rejects.toThrow(
      'slug: "platform" is reserved for the platform',
    );
    await expect(callerFor(t.db, user).orgs.create({ name: "Platform" })).rejects.toThrow('name: "platform" is reserved');
    expect(await codeOf(callerFor(t.db, user).orgs.create({ name: "Billing" }))).toBe("BAD_REQUEST");
    expect((await t.pool.query("select count(*)::int n from organizations")).rows[0].n).toBe(before);
  });

  it("platform:create refuses to promote an organisation already holding the slug", async () => {
    // As one created before slugs were reserved would be.
    await t.db.insert(organizations).values({ name: "Squatter", slug: "platform" });
    await expect(ensurePlatformOrg(t.db)).rejects.toThrow(/not the platform already has the slug "platform"/);
    const run = promisify(execFile)("npx", ["tsx", "scripts/platform-org.ts"], { env: { ...process.env, DATABASE_URL: t.url }, cwd: process.cwd() });
    await expect(run).rejects.toMatchObject({ stderr: expect.stringContaining('already has the slug "platform"') });
    expect(await platforms()).toEqual([]);
    const org = await ensurePlatformOrg(t.db, { name: "tokenmarket platform", slug: "tm-platform" });
    expect(org.isPlatform).toBe(true);
    expect(await ensurePlatformOrg(t.db)).toMatchObject({ id: org.id });
  });
});
