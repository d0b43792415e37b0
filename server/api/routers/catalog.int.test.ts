import { TRPCError } from "@trpc/server";
import superjson from "superjson";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ZodError } from "zod";
import { serviceTokenMatcher } from "../../auth/service-tokens";
import { PRICE_NOTICE_MS } from "../../catalog/price-in-force";
import { cancelScheduledPrice, changeListingPrice } from "../../catalog/price-schedule";
import { priceAt, priceHistory } from "../../catalog/prices";
import { createTestDb, type TestDb } from "../../testing/db";
import { registerSecrets } from "../../testing/secrets";
import { addMember, callerFor, codeOf, makeOrg, makeUser, TEST_SERVICE_TOKEN } from "../../testing/fixtures";
import { freePort } from "../../gateway/spawn";
import { startDemoUpstream, type DemoUpstream } from "../../upstream-demo/server";
import { appRouter } from "../root";
import type { SessionUser } from "../trpc";

let t: TestDb;
let upstream: DemoUpstream;
let ownerA: SessionUser, devA: SessionUser, financeA: SessionUser, ownerB: SessionUser;
let orgA: { id: string; slug: string }, orgB: { id: string; slug: string };

// The demo upstreams listen on loopback: their ports are listed before the environment is first read,
// and so is one of the platform's own ports (3000, the web app's default), which stays refused anyway.
const upstreamPort = await freePort();
const closedPort = await freePort();
process.env.UPSTREAM_ALLOW_PRIVATE = `127.0.0.1:${upstreamPort},127.0.0.1:${closedPort},127.0.0.1:3000`;

const CREDENTIAL = "sk-upstream-SECRET-value-9f8e7d6c";
registerSecrets(CREDENTIAL, "sk-b-credential-000011112222", "sk-attacker-credential");
const PROVIDER_TOKEN = "provider-a-proxy-token-0123456789abcdef";

const prices = (input: string, output: string, cachedInput = "0", unit: "1M" | "1k" = "1M") => ({ unit, input, output, cachedInput });

function listingInput(modelSlug: string, over: Record<string, unknown> = {}) {
  return {
    modelSlug,
    name: `Model ${modelSlug}`,
    description: "A test listing",
    family: "llama-3.1-8b",
    contextLength: 131_072,
    modalities: ["chat" as const],
    upstreamBaseUrl: upstream.url,
    upstreamModel: "llama-3.1-8b-instruct",
    upstreamCredential: CREDENTIAL,
    tokensPerWatt: 4,
    energyHardware: "8× H100",
    energyMethod: "nvidia-smi power over a 10 min load test",
    energyMeasuredOn: "2025-05-01",
    gridCarbonGPerKwh: 300,
    region: "eu-west",
    prices: prices("0.14", "0.28", "0.07"),
    ...over,
  };
}

beforeAll(async () => {
  t = await createTestDb();
  upstream = await startDemoUpstream({ apiKey: CREDENTIAL, port: upstreamPort });
  ownerA = await makeUser(t.db, "ownerA");
  devA = await makeUser(t.db, "devA");
  financeA = await makeUser(t.db, "financeA");
  ownerB = await makeUser(t.db, "ownerB");
  orgA = await makeOrg(t.db, ownerA, { name: "Alpha GPUs" });
  await addMember(t.db, orgA.id, devA, "developer");
  await addMember(t.db, orgA.id, financeA, "finance");
  orgB = await makeOrg(t.db, ownerB, { name: "Beta Cloud" });
});
afterAll(async () => {
  await upstream.close();
  await t.close();
});

describe("provider isolation", () => {
  it("another organisation can neither read a draft nor change it", async () => {
    const a = callerFor(t.db, ownerA);
    const b = callerFor(t.db, ownerB);
    const draft = await a.catalog.create(listingInput("isolated-draft"));
    const before = await t.pool.query("select row_to_json(l)::text as row from listings l where id = $1", [draft.id]);
    const pricesBefore = await t.pool.query("select count(*)::int n from listing_prices where listing_id = $1", [draft.id]);

    expect(await codeOf(b.catalog.get({ id: draft.id }))).toBe("NOT_FOUND");
    expect(await codeOf(b.catalog.listing({ slug: draft.slug }))).toBe("NOT_FOUND");
    expect(await codeOf(callerFor(t.db, null).catalog.listing({ slug: draft.slug }))).toBe("NOT_FOUND");
    expect((await b.catalog.mine()).map((l) => l.id)).not.toContain(draft.id);
    expect((await b.catalog.marketplace({ q: "isolated-draft" })).items).toEqual([]);
    const { modelSlug: _m, prices: _p, ...fields } = listingInput("isolated-draft");
    expect(await codeOf(b.catalog.update({ ...fields, id: draft.id, name: "Hijacked" }))).toBe("NOT_FOUND");
    expect(await codeOf(b.catalog.setStatus({ id: draft.id, status: "published" }))).toBe("NOT_FOUND");
    expect(await codeOf(b.catalog.changePrice({ id: draft.id, prices: prices("0", "0") }))).toBe("NOT_FOUND");
    expect(await codeOf(b.catalog.testConnection({ id: draft.id }))).toBe("NOT_FOUND");

    const after = await t.pool.query("select row_to_json(l)::text as row from listings l where id = $1", [draft.id]);
    const pricesAfter = await t.pool.query("select count(*)::int n from listing_prices where listing_id = $1", [draft.id]);
    expect(after.rows).toEqual(before.rows);
    expect(pricesAfter.rows).toEqual(pricesBefore.rows);
  });

  it("another organisation cannot read or change a published listing through the console either", async () => {
    const a = callerFor(t.db, ownerA);
    const pub = await a.catalog.create(listingInput("isolated-published"));
    await a.catalog.setStatus({ id: pub.id, status: "published" });
    const b = callerFor(t.db, ownerB);
    expect(await codeOf(b.catalog.get({ id: pub.id }))).toBe("NOT_FOUND");
    expect(await codeOf(b.catalog.setStatus({ id: pub.id, status: "paused" }))).toBe("NOT_FOUND");
    expect((await callerFor(t.db, null).catalog.listing({ slug: pub.slug })).status).toBe("published");
  });

  it("a developer drafts and edits; only an owner publishes or changes prices; finance does neither", async () => {
    const dev = callerFor(t.db, devA);
    const l = await dev.catalog.create(listingInput("by-developer"));
    const { modelSlug: _m, prices: _p, ...fields } = listingInput("by-developer");
    await dev.catalog.update({ ...fields, id: l.id, description: "edited by the developer" });
    expect((await dev.catalog.get({ id: l.id })).description).toBe("edited by the developer");
    expect(await codeOf(dev.catalog.setStatus({ id: l.id, status: "published" }))).toBe("FORBIDDEN");
    expect(await codeOf(dev.catalog.changePrice({ id: l.id, prices: prices("1", "1") }))).toBe("FORBIDDEN");
    expect(await codeOf(callerFor(t.db, financeA).catalog.create(listingInput("by-finance")))).toBe("FORBIDDEN");
    expect(await codeOf(callerFor(t.db, financeA).catalog.update({ ...fields, id: l.id }))).toBe("FORBIDDEN");
    expect((await callerFor(t.db, ownerA).catalog.setStatus({ id: l.id, status: "published" })).status).toBe("published");
  });

  // Issue #15: prices could be any 64-bit value, so one request's cost could overflow.
  it("a price past $1 000 per 1k tokens is refused at save, naming the field, and nothing is written", async () => {
    const a = callerFor(t.db, ownerA);
    const err = await a.catalog.create(listingInput("too-dear", { prices: prices("0.1", "2000000") })).catch((e: TRPCError) => e);
    expect(err).toMatchObject({ code: "BAD_REQUEST", message: "prices.output: a price can be at most $1,000,000.00 per 1M tokens" });
    expect((await a.catalog.mine()).some((l) => l.slug.endsWith("/too-dear"))).toBe(false);
  });

  // Issue #15: a developer could point a published listing's live traffic at any URL.
  it("once published, a developer may not change the upstream or its credential; the owner may", async () => {
    const l = await callerFor(t.db, ownerA).catalog.create(listingInput("published-upstream"));
    const { modelSlug: _m, prices: _p, ...fields } = listingInput("published-upstream");
    await callerFor(t.db, ownerA).catalog.setStatus({ id: l.id, status: "published" });
    const dev = callerFor(t.db, devA);
    const before = await dev.catalog.get({ id: l.id });
    const err = await dev.catalog.update({ ...fields, id: l.id, upstreamBaseUrl: "http://attacker.example/v1" }).catch((e: TRPCError) => e);
    expect(err).toMatchObject({ code: "FORBIDDEN", message: "upstreamBaseUrl: only an owner may change a published listing's upstream or credential" });
    expect(await codeOf(dev.catalog.update({ ...fields, id: l.id, upstreamModel: "other-model" }))).toBe("FORBIDDEN");
    expect(await codeOf(dev.catalog.update({ ...fields, id: l.id, upstreamCredential: "sk-attacker-credential" }))).toBe("FORBIDDEN");
    expect(await dev.catalog.get({ id: l.id })).toEqual(before);
    // Other fields stay a developer's to edit.
    await dev.catalog.update({ ...fields, id: l.id, description: "developer copy" });
    await callerFor(t.db, ownerA).catalog.update({ ...fields, id: l.id, upstreamModel: "owner-model" });
    expect((await dev.catalog.get({ id: l.id })).upstreamModel).toBe("owner-model");
  });

  it("slugs are the organisation's slug and the model slug; a taken one is refused naming the field", async () => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("unique-model"));
    expect(l.slug).toBe(`${orgA.slug}/unique-model`);
    const err = await a.catalog.create(listingInput("unique-model")).catch((e: TRPCError) => e);
    expect(err).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("modelSlug") });
    // The same model slug under another organisation is a different listing.
    expect((await callerFor(t.db, ownerB).catalog.create(listingInput("unique-model"))).slug).toBe(`${orgB.slug}/unique-model`);
  });
});

describe("prices: exact, effective-dated, never retroactive", () => {
  it("a price that cannot be stored exactly is refused with the field named, and nothing is written", async () => {
    const before = await t.pool.query("select (select count(*) from listings) l, (select count(*) from listing_prices) p");
    const err = await callerFor(t.db, ownerA)
      .catalog.create(listingInput("too-precise", { prices: prices("0.0000001", "0.28") }))
      .catch((e: TRPCError) => e);
    expect(err).toMatchObject({ code: "BAD_REQUEST", message: expect.stringMatching(/^prices\.input: .*at most 6 decimals/) });
    const after = await t.pool.query("select (select count(*) from listings) l, (select count(*) from listing_prices) p");
    expect(after.rows).toEqual(before.rows);
  });

  it("stores $0.14/1M as 140 000 nano per 1k and $0.01875/1M as 18 750; per-1k entry too", async () => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("exact-prices", { prices: prices("0.14", "0.01875", "0.000001") }));
    expect((await a.catalog.get({ id: l.id })).currentPrice).toMatchObject({ inputPer1kNano: 140_000n, outputPer1kNano: 18_750n, cachedInputPer1kNano: 1n });
    await a.catalog.changePrice({ id: l.id, prices: prices("0.00014", "0.002", "0", "1k"), effectiveFrom: new Date(Date.now() + PRICE_NOTICE_MS + 1000) });
    const history = await priceHistory(t.db, { listingId: l.id });
    expect(history.at(-1)).toMatchObject({ inputPer1kNano: 140_000n, outputPer1kNano: 2_000_000n, cachedInputPer1kNano: 0n });
  });

  it("priceAt(listing, t) is the version with the latest start <= t, at every boundary", async () => {
    const t0 = new Date("2030-01-01T00:00:00.000Z");
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("boundaries"));
    // Move the first version to a known instant (test setup only: the app never rewrites history).
    await t.pool.query("update listing_prices set effective_from = $2 where listing_id = $1", [l.id, t0]);
    const t1 = new Date("2030-02-01T00:00:00.000Z");
    const t2 = new Date("2030-03-01T12:30:00.000Z");
    const base = { orgId: orgA.id, userId: ownerA.id };
    await changeListingPrice(t.db, { ...base, now: t0, input: { id: l.id, prices: prices("0.20", "0.40"), effectiveFrom: t1 } });
    await changeListingPrice(t.db, { ...base, now: t0, input: { id: l.id, prices: prices("0.10", "0.20"), effectiveFrom: t2 } });
    const ms = (d: Date, delta: number) => new Date(d.getTime() + delta);
    const cases: [string, Date, bigint | null][] = [
      ["1 ms before the first version: no price", ms(t0, -1), null],
      ["at the first version's start", t0, 140_000n],
      ["1 ms before the change", ms(t1, -1), 140_000n],
      ["at the change's first instant", t1, 200_000n],
      ["1 ms after the change", ms(t1, 1), 200_000n],
      ["1 ms before the second change", ms(t2, -1), 200_000n],
      ["at the second change", t2, 100_000n],
      ["long after", new Date("2099-01-01T00:00:00Z"), 100_000n],
    ];
    for (const [label, at, expected] of cases) {
      expect((await priceAt(t.db, { listingId: l.id, at }))?.inputPer1kNano ?? null, label).toBe(expected);
    }
  });

  it("a change cannot start in the past, nor at an instant that already has a version; history is kept", async () => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("no-retro"));
    const history = await priceHistory(t.db, { listingId: l.id });
    const past = await a.catalog.changePrice({ id: l.id, prices: prices("9", "9"), effectiveFrom: new Date(Date.now() - 60_000) }).catch((e: TRPCError) => e);
    expect(past).toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("effectiveFrom") });
    const future = new Date(Date.now() + 86_400_000);
    await a.catalog.changePrice({ id: l.id, prices: prices("0.50", "1"), effectiveFrom: future });
    const dup = await a.catalog.changePrice({ id: l.id, prices: prices("0.60", "1"), effectiveFrom: future }).catch((e: TRPCError) => e);
    expect(dup).toMatchObject({ code: "CONFLICT" });
    await a.catalog.changePrice({ id: l.id, prices: prices("0.30", "0.60") });
    const after = await priceHistory(t.db, { listingId: l.id });
    expect(after.slice(0, 1)).toEqual(history);
    expect(after.map((v) => v.inputPer1kNano)).toEqual([140_000n, 300_000n, 500_000n]);
    // Once the notice has passed (the test clock moves; the database is not asked for its time),
    // the change made "now" is in force; the future one waits for its time.
    vi.useFakeTimers({ toFake: ["Date"], now: Date.now() + PRICE_NOTICE_MS });
    try {
      expect((await a.catalog.get({ id: l.id })).currentPrice?.inputPer1kNano).toBe(300_000n);
      expect((await a.catalog.mine()).find((x) => x.id === l.id)?.scheduledPrice?.inputPer1kNano).toBe(500_000n);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a scheduled change can be cancelled before it takes effect; one in force cannot; nobody else can", async () => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("cancel-schedule"));
    const soon = new Date(Date.now() + 3_600_000);
    await a.catalog.changePrice({ id: l.id, prices: prices("0.50", "1"), effectiveFrom: soon });
    const before = await priceHistory(t.db, { listingId: l.id });
    expect(await codeOf(callerFor(t.db, devA).catalog.cancelScheduledPrice({ id: l.id, effectiveFrom: soon }))).toBe("FORBIDDEN");
    expect(await codeOf(callerFor(t.db, ownerB).catalog.cancelScheduledPrice({ id: l.id, effectiveFrom: soon }))).toBe("NOT_FOUND");
    const inForce = before[0]!.effectiveFrom;
    const refused = await a.catalog.cancelScheduledPrice({ id: l.id, effectiveFrom: inForce }).catch((e: TRPCError) => e);
    expect(refused).toMatchObject({ code: "CONFLICT", message: expect.stringContaining("already in effect") });
    expect(await codeOf(a.catalog.cancelScheduledPrice({ id: l.id, effectiveFrom: new Date(soon.getTime() + 1) }))).toBe("NOT_FOUND");
    await a.catalog.cancelScheduledPrice({ id: l.id, effectiveFrom: soon });
    expect(await priceHistory(t.db, { listingId: l.id })).toEqual(before.slice(0, 1));
    expect((await a.catalog.mine()).find((x) => x.id === l.id)?.scheduledPrice).toBeNull();
    // Once its time has come it is history: the same call an hour later is refused.
    await a.catalog.changePrice({ id: l.id, prices: prices("0.50", "1"), effectiveFrom: soon });
    await expect(
      cancelScheduledPrice(t.db, { orgId: orgA.id, userId: ownerA.id, input: { id: l.id, effectiveFrom: soon }, now: new Date(soon.getTime() + 1) }),
    ).rejects.toThrow(/already in effect/);
  });
});

describe("upstream credentials", () => {
  it("the raw database row never holds the credential in clear", async () => {
    const l = await callerFor(t.db, ownerA).catalog.create(listingInput("raw-row"));
    const { rows } = await t.pool.query(
      "select row_to_json(l)::text as row, upstream_credential_enc, upstream_credential_last4 from listings l where id = $1",
      [l.id],
    );
    expect(rows[0].row).not.toContain(CREDENTIAL);
    expect(rows[0].row).not.toContain(CREDENTIAL.slice(0, 12));
    expect(rows[0].upstream_credential_enc).toMatch(/^v1\./);
    expect(rows[0].upstream_credential_last4).toBe(CREDENTIAL.slice(-4));
    const prices = await t.pool.query("select row_to_json(p)::text as row from listing_prices p where listing_id = $1", [l.id]);
    expect(prices.rows[0].row).not.toContain(CREDENTIAL);
  });

  it("no browser-facing catalog procedure's output contains the credential or its ciphertext", async () => {
    const a = callerFor(t.db, ownerA);
    const created = await a.catalog.create(listingInput("secret-holder"));
    await a.catalog.setStatus({ id: created.id, status: "published" });
    const { rows } = await t.pool.query("select upstream_credential_enc from listings where id = $1", [created.id]);
    const ciphertext: string = rows[0].upstream_credential_enc;
    const later = new Date(Date.now() + 86_400_000);
    await a.catalog.changePrice({ id: created.id, prices: prices("0.15", "0.30"), effectiveFrom: later });
    const { modelSlug: _m, prices: _p, ...fields } = listingInput("secret-holder");
    const inputs: Record<string, unknown> = {
      "catalog.marketplace": { q: "secret-holder" },
      "catalog.facets": undefined,
      "catalog.family": { family: "llama-3.1-8b" },
      "catalog.listing": { slug: created.slug },
      "catalog.mine": undefined,
      "catalog.get": { id: created.id },
      "catalog.create": listingInput("secret-holder-2"),
      "catalog.update": { ...fields, id: created.id },
      "catalog.testConnection": { id: created.id },
      "catalog.setStatus": { id: created.id, status: "published" },
      "catalog.changePrice": { id: created.id, prices: prices("0.15", "0.30") },
      "catalog.cancelScheduledPrice": { id: created.id, effectiveFrom: later },
    };
    // Every catalog procedure except the proxies' routing table is browser-facing: a new one fails here until listed.
    const browserFacing = Object.keys(appRouter._def.procedures).filter((n) => n.startsWith("catalog.") && n !== "catalog.routing");
    expect(browserFacing.sort()).toEqual(Object.keys(inputs).sort());
    const caller = a as unknown as Record<string, Record<string, (i: unknown) => Promise<unknown>>>;
    for (const name of browserFacing) {
      const [ns, proc] = name.split(".") as [string, string];
      const out = await caller[ns]![proc]!(inputs[name]);
      const text = JSON.stringify(superjson.serialize(out));
      expect(text.length, name).toBeGreaterThan(2);
      expect(text, name).not.toContain(CREDENTIAL);
      expect(text, name).not.toContain(ciphertext);
      for (const part of ciphertext.split(".").slice(1)) expect(text, name).not.toContain(part);
    }
    const detail = await a.catalog.get({ id: created.id });
    expect(detail.credentialMask).toBe(`••••${CREDENTIAL.slice(-4)}`);
    // The connection test really used the credential (the upstream refuses others).
    expect((await a.catalog.testConnection({ id: created.id })).ok).toBe(true);
  });

  it("an edit without a credential keeps the saved one; clearing removes it", async () => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("keep-credential"));
    const { modelSlug: _m, prices: _p, upstreamCredential: _c, ...fields } = listingInput("keep-credential");
    await a.catalog.update({ ...fields, id: l.id, name: "Renamed" });
    expect((await a.catalog.testConnection({ id: l.id })).ok).toBe(true);
    await a.catalog.update({ ...fields, id: l.id, clearCredential: true });
    expect((await a.catalog.get({ id: l.id })).credentialMask).toBeNull();
    const r = await a.catalog.testConnection({ id: l.id });
    expect(r.ok).toBe(false);
    expect(r.checks[0]).toMatchObject({ ok: false, status: 401, detail: "HTTP 401: Incorrect API key provided" });
  });
});

describe("test connection", () => {
  it("reports status and latency of /models and a one-token completion", async () => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("conn-ok"));
    const r = await a.catalog.testConnection({ id: l.id });
    expect(r.ok).toBe(true);
    expect(r.checks.map((c) => [c.name, c.ok, c.status])).toEqual([
      ["GET /models", true, 200],
      ["POST /chat/completions (1 token)", true, 200],
    ]);
    for (const c of r.checks) expect(c.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it("says when the upstream does not serve the model, and when nothing answers", async () => {
    const a = callerFor(t.db, ownerA);
    const wrongModel = await a.catalog.create(listingInput("conn-wrong-model", { upstreamModel: "no-such-model" }));
    const r = await a.catalog.testConnection({ id: wrongModel.id });
    expect(r.ok).toBe(false);
    expect(r.checks[0]!.detail).toContain('does not list the model "no-such-model"');
    const closed = await startDemoUpstream({ port: closedPort });
    await closed.close();
    const dead = await a.catalog.create(listingInput("conn-dead", { upstreamBaseUrl: closed.url }));
    const d = await a.catalog.testConnection({ id: dead.id });
    expect(d.ok).toBe(false);
    expect(d.checks[0]).toMatchObject({ status: null, detail: expect.stringContaining("could not connect") });
  });

  it("tests embeddings listings with an embeddings call", async () => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("conn-embed", { modalities: ["embeddings"], upstreamModel: "demo-embed-small" }));
    const r = await a.catalog.testConnection({ id: l.id });
    expect(r.checks.map((c) => [c.name, c.ok])).toEqual([
      ["GET /models", true],
      ["POST /embeddings", true],
    ]);
  });
});

describe("test connection's outbound policy", () => {
  it.each([
    ["loopback", "http://127.0.0.1:9/v1"],
    ["IPv6 loopback", "http://[::1]:9/v1"],
    ["IPv4-mapped IPv6 loopback", "http://[::ffff:127.0.0.1]:9/v1"],
    ["loopback written as a decimal number", "http://2130706433:9/v1"],
    ["the unspecified address", "http://0.0.0.0:9/v1"],
    ["RFC 1918 10/8", "http://10.1.2.3/v1"],
    ["RFC 1918 172.16/12", "http://172.16.0.1/v1"],
    ["RFC 1918 192.168/16", "http://192.168.1.1/v1"],
    ["cloud metadata", "http://169.254.169.254/latest"],
    ["CGNAT", "http://100.64.0.1/v1"],
    ["IPv6 unique local", "http://[fd00::1]/v1"],
    ["a name that resolves to loopback", "http://localhost:9/v1"],
    ["the platform's own port, even when listed", "http://127.0.0.1:3000/v1"],
  ])("refuses %s, saying why, without connecting", async (_label, url) => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput(`ssrf-${Math.random().toString(36).slice(2, 10)}`, { upstreamBaseUrl: url }));
    const r = await a.catalog.testConnection({ id: l.id });
    expect(r.ok).toBe(false);
    for (const c of r.checks) expect(c).toMatchObject({ ok: false, status: null, detail: expect.stringContaining("resolves to a private address") });
  });

  it("refuses base URLs with a user name, password, query or fragment at save, naming the field", async () => {
    const a = callerFor(t.db, ownerA);
    for (const [url, words] of [
      ["https://user:pass@api.example.com/v1", "user name or password"],
      ["https://api.example.com/v1?key=1", "query"],
      ["https://api.example.com/v1#x", "fragment"],
    ] as const) {
      const err = await a.catalog.create(listingInput("ssrf-url", { upstreamBaseUrl: url })).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(TRPCError);
      expect((err as TRPCError).code).toBe("BAD_REQUEST");
      expect((err as TRPCError).message).toContain("upstreamBaseUrl");
      expect((err as TRPCError).message).toContain(words);
    }
  });
});

describe("routing for proxies", () => {
  it("the platform token sees every published listing with its credential; a provider token only its own", async () => {
    const a = callerFor(t.db, ownerA);
    const b = callerFor(t.db, ownerB);
    const la = await a.catalog.create(listingInput("route-a"));
    await a.catalog.setStatus({ id: la.id, status: "published" });
    const lb = await b.catalog.create(listingInput("route-b", { upstreamCredential: "sk-b-credential-000011112222" }));
    await b.catalog.setStatus({ id: lb.id, status: "published" });
    const draft = await a.catalog.create(listingInput("route-draft"));
    const paused = await a.catalog.create(listingInput("route-paused"));
    await a.catalog.setStatus({ id: paused.id, status: "paused" });

    const platform = (await callerFor(t.db, null, TEST_SERVICE_TOKEN).catalog.routing()).listings;
    const slugs = platform.map((r) => r.slug);
    expect(slugs).toEqual(expect.arrayContaining([la.slug, lb.slug]));
    expect(slugs).not.toContain(draft.slug);
    expect(slugs).not.toContain(paused.slug);
    expect(platform.find((r) => r.slug === la.slug)).toMatchObject({
      upstreamCredential: CREDENTIAL,
      upstreamBaseUrl: upstream.url,
      upstreamModel: "llama-3.1-8b-instruct",
      currentPrice: { inputPer1kNano: 140_000n, outputPer1kNano: 280_000n, cachedInputPer1kNano: 70_000n },
      scheduledPrices: [],
    });
    expect(platform.find((r) => r.slug === lb.slug)?.upstreamCredential).toBe("sk-b-credential-000011112222");

    const matcher = serviceTokenMatcher(TEST_SERVICE_TOKEN, `${orgA.slug}:${PROVIDER_TOKEN}`);
    const own = (await callerFor(t.db, null, PROVIDER_TOKEN, matcher).catalog.routing()).listings;
    expect(own.length).toBeGreaterThan(0);
    expect(own.every((r) => r.orgSlug === orgA.slug)).toBe(true);
    expect(own.map((r) => r.slug)).not.toContain(lb.slug);
  });

  it("carries the tokenizer a provider declares (o200k_base when none is), editable and shown; an unknown one is refused", async () => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("route-tokenizer", { tokenizer: "llama3" }));
    const unset = await a.catalog.create(listingInput("route-no-tokenizer"));
    for (const x of [l, unset]) await a.catalog.setStatus({ id: x.id, status: "published" });
    const routing = async () => (await callerFor(t.db, null, TEST_SERVICE_TOKEN).catalog.routing()).listings;
    expect((await routing()).find((r) => r.slug === l.slug)?.tokenizer).toBe("llama3");
    expect((await routing()).find((r) => r.slug === unset.slug)?.tokenizer).toBe("o200k_base");
    expect((await a.catalog.listing({ slug: l.slug })).tokenizer).toBe("llama3");

    const {
      id: _id,
      slug: _slug,
      modelSlug: _m,
      credentialMask: _c,
      status: _s,
      updatedAt: _u,
      currentPrice: _p,
      priceHistory: _h,
      ...fields
    } = await a.catalog.get({ id: l.id });
    expect(fields.tokenizer).toBe("llama3");
    await a.catalog.update({ ...fields, id: l.id, tokenizer: "cl100k_base" });
    expect((await routing()).find((r) => r.slug === l.slug)?.tokenizer).toBe("cl100k_base");
    const err = await a.catalog.update({ ...fields, id: l.id, tokenizer: "gemma3" as "llama3" }).catch((e: TRPCError) => e);
    expect(err).toMatchObject({ code: "BAD_REQUEST" });
    const issues = ((err as TRPCError).cause as ZodError).issues.map((i) => `${i.path.join(".")}: ${i.message}`);
    expect(issues).toEqual([`tokenizer: must be one of o200k_base, cl100k_base, p50k_base, r50k_base, llama3`]);
    expect((await a.catalog.get({ id: l.id })).tokenizer).toBe("cl100k_base");
  });

  it("carries scheduled prices so a proxy cache can switch on time", async () => {
    const a = callerFor(t.db, ownerA);
    const l = await a.catalog.create(listingInput("route-scheduled"));
    await a.catalog.setStatus({ id: l.id, status: "published" });
    const at = new Date(Date.now() + 3_600_000);
    await a.catalog.changePrice({ id: l.id, prices: prices("1", "2"), effectiveFrom: at });
    const row = (await callerFor(t.db, null, TEST_SERVICE_TOKEN).catalog.routing()).listings.find((r) => r.slug === l.slug);
    expect(row?.currentPrice.inputPer1kNano).toBe(140_000n);
    expect(row?.scheduledPrices).toEqual([expect.objectContaining({ effectiveFrom: at, inputPer1kNano: 1_000_000n })]);
  });
});

describe("marketplace", () => {
  // Own family and provider names, so listings from other tests do not interfere.
  const family = "mkt-family";
  beforeAll(async () => {
    const a = callerFor(t.db, ownerA);
    const b = callerFor(t.db, ownerB);
    const specs: [typeof a, string, Record<string, unknown>][] = [
      [a, "mkt-cheap", { prices: prices("0.10", "0.10"), tokensPerWatt: 2, contextLength: 8_000, name: "Mkt Cheap" }],
      [a, "mkt-green", { prices: prices("0.30", "0.60"), tokensPerWatt: 12, contextLength: 128_000, name: "Mkt Green" }],
      [b, "mkt-mid", { prices: prices("0.20", "0.20"), tokensPerWatt: null, contextLength: 32_000, name: "Mkt Mid" }],
      [b, "mkt-embed", { prices: prices("0.02", "0"), tokensPerWatt: 40, contextLength: 8_192, modalities: ["embeddings"], name: "Mkt Embed" }],
    ];
    for (const [caller, slug, over] of specs) {
      const l = await caller.catalog.create(listingInput(slug, { family, ...over }));
      await caller.catalog.setStatus({ id: l.id, status: "published" });
    }
    await a.catalog.create(listingInput("mkt-draft", { family, name: "Mkt Draft" }));
  });
  const market = (input: Record<string, unknown>) => callerFor(t.db, null).catalog.marketplace({ family, ...input });
  const names = async (input: Record<string, unknown>) => (await market(input)).items.map((i) => i.name);

  it.each([
    // Embeddings are priced on another basis (input, not the 3:1 blend): listed after the blended ones.
    ["comparable price, cheapest first, embeddings apart", "price", ["Mkt Cheap", "Mkt Mid", "Mkt Green", "Mkt Embed"]],
    ["tokens per dollar, most first, embeddings apart", "tokensPerDollar", ["Mkt Cheap", "Mkt Mid", "Mkt Green", "Mkt Embed"]],
    ["input price", "input", ["Mkt Embed", "Mkt Cheap", "Mkt Mid", "Mkt Green"]],
    ["output price", "output", ["Mkt Embed", "Mkt Cheap", "Mkt Mid", "Mkt Green"]],
    ["tokens per watt, most first, undeclared last", "tokensPerWatt", ["Mkt Embed", "Mkt Green", "Mkt Cheap", "Mkt Mid"]],
    ["Wh per 1M, fewest first", "whPer1M", ["Mkt Embed", "Mkt Green", "Mkt Cheap", "Mkt Mid"]],
    ["name", "name", ["Mkt Cheap", "Mkt Embed", "Mkt Green", "Mkt Mid"]],
  ])("sorts by %s", async (_label, sort, expected) => {
    expect(await names({ sort })).toEqual(expected);
  });

  it("shows only published listings, with figures derived from the current price and tokens per watt", async () => {
    const page = await market({ sort: "name" });
    expect(page.total).toBe(4);
    const green = page.items.find((i) => i.name === "Mkt Green")!;
    expect(green.provider).toEqual({ slug: orgA.slug, name: "Alpha GPUs" });
    expect(green).toMatchObject({ comparablePer1MNano: 375_000_000n, priceBasis: "blend" });
    expect(green.whPer1M).toBeCloseTo(1e6 / (12 * 3600), 9);
    expect(green.gCo2Per1M).toBeCloseTo((1e6 / (12 * 3600) / 1000) * 300, 9);
    expect(green.tokensPerDollar).toBeCloseTo(4e12 / (3 * 300_000 + 600_000), 3);
  });

  it("prices embeddings by their input price, not the 3:1 blend", async () => {
    const embed = (await market({ sort: "name" })).items.find((i) => i.name === "Mkt Embed")!;
    // $0.02 per 1M for every token: the blend would say $0.015 and 66.7M tokens per dollar.
    expect(embed).toMatchObject({ comparablePer1MNano: 20_000_000n, priceBasis: "input" });
    expect(embed.tokensPerDollar).toBeCloseTo(50_000_000, 3);
    const page = await callerFor(t.db, null).catalog.listing({ slug: `${orgB.slug}/mkt-embed` });
    expect(page).toMatchObject({ comparablePer1MNano: 20_000_000n, priceBasis: "input" });
    expect((await market({})).items[0]?.name).not.toBe("Mkt Embed");
  });

  it.each([
    ["search by name, any case", { q: "green" }, ["Mkt Green"]],
    ["search by provider name", { q: "beta cloud" }, ["Mkt Embed", "Mkt Mid"]],
    ["search treats % literally", { q: "%" }, []],
    ["provider filter", { provider: "__B__" }, ["Mkt Embed", "Mkt Mid"]],
    ["modality filter", { modality: "embeddings" }, ["Mkt Embed"]],
    ["minimum context", { minContext: 32_000 }, ["Mkt Green", "Mkt Mid"]],
    ["maximum price per 1M", { maxPricePer1M: "0.20" }, ["Mkt Cheap", "Mkt Embed", "Mkt Mid"]],
    ["maximum price below the embeddings' input price (the blend would let it in)", { maxPricePer1M: "0.019" }, []],
  ])("filters: %s", async (_label, filter, expected) => {
    const f = { ...filter } as Record<string, unknown>;
    if (f.provider === "__B__") f.provider = orgB.slug;
    expect(await names({ sort: "name", ...f })).toEqual(expected);
  });

  it("paginates with a total", async () => {
    const p1 = await market({ sort: "name", pageSize: 3, page: 1 });
    const p2 = await market({ sort: "name", pageSize: 3, page: 2 });
    const p3 = await market({ sort: "name", pageSize: 3, page: 3 });
    expect([p1.total, p2.total, p3.total]).toEqual([4, 4, 4]);
    expect([...p1.items, ...p2.items].map((i) => i.name)).toEqual(["Mkt Cheap", "Mkt Embed", "Mkt Green", "Mkt Mid"]);
    expect(p3.items).toEqual([]);
  });

  it("compares a family's providers side by side", async () => {
    const f = await callerFor(t.db, null).catalog.family({ family });
    expect(f.listings.map((l) => l.name)).toEqual(["Mkt Cheap", "Mkt Mid", "Mkt Green", "Mkt Embed"]);
    expect(f.listings.find((l) => l.id === f.cheapestId)?.name).toBe("Mkt Cheap");
    expect(f.listings.find((l) => l.id === f.mostEfficientId)?.name).toBe("Mkt Embed");
  });

  it("lists providers and families for the filters", async () => {
    const facets = await callerFor(t.db, null).catalog.facets();
    expect(facets.families).toContain(family);
    expect(facets.providers.map((p) => p.slug)).toEqual(expect.arrayContaining([orgA.slug, orgB.slug]));
  });

  it("a listing page has prices, history and energy", async () => {
    const d = await callerFor(t.db, null).catalog.listing({ slug: `${orgA.slug}/mkt-green` });
    expect(d.currentPrice.outputPer1kNano).toBe(600_000n);
    expect(d.priceHistory).toHaveLength(1);
    expect(d.energyMethod).toContain("nvidia-smi");
    expect(d.whPer1M).toBeCloseTo(23.148148, 5);
  });

  it("a bad maximum price names the field", async () => {
    await expect(market({ maxPricePer1M: "cheap" })).rejects.toMatchObject({ code: "BAD_REQUEST", message: expect.stringContaining("maxPricePer1M") });
  });
});
