import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { seedDemo, seedDemoCredits, seedDemoKey } from "../../db/seed";
import { seedDemoTraffic } from "../../db/seed-traffic";
import { catalogEncryptionKey, keyPepper } from "../env";
import { monthOf } from "../finance/period";
import { divRoundHalfEven } from "../ledger/money";
import { createTestDb, type TestDb } from "../testing/db";
import { TEST_LOCAL_WEBHOOK_SECRET } from "../testing/fixtures";
import { MIN_CPUT_REQUESTS } from "./cput";
import { energyStatement } from "./statement";
import { buyerCputByListing, listingCput, listingEnergy } from "./store";

/**
 * The demo's traffic history through real settlement, and every token-economy figure read from
 * the rollups equal to the same figure computed here from raw usage events.
 */

let t: TestDb;
let seedMs = 0;
let events = 0;
const now = new Date();

beforeAll(async () => {
  t = await createTestDb();
  await seedDemo(t.db, { upstreamUrl: "http://127.0.0.1:9/v1", encryptionKey: catalogEncryptionKey() });
  await seedDemoKey(t.db, keyPepper());
  await seedDemoCredits(t.db, TEST_LOCAL_WEBHOOK_SECRET);
  const started = performance.now();
  events = await seedDemoTraffic(t.db, { feeBps: 500, now });
  seedMs = performance.now() - started;
}, 120_000);

afterAll(async () => {
  await t?.close();
});

const useful = "status = 'ok' and coalesce(finish_reason, 'unknown') in ('stop', 'tool_calls', 'unknown')";

describe("the demo's traffic history", () => {
  it("is settled once, quickly, and a second seeding adds nothing", async () => {
    expect(events).toBeGreaterThan(2000);
    // ~3 s for ~2 800 events on a busy 2-core machine; it runs at every `npm start` on an empty database.
    expect(seedMs).toBeLessThan(30_000);
    const { rows } = await t.db.execute<{ n: number }>(sql`select count(*)::int as n from usage_events`);
    expect(rows[0]!.n).toBe(events);
    expect(await seedDemoTraffic(t.db, { feeBps: 500, now })).toBe(0);
  });

  it("CPUT per listing (7 d) equals billed ÷ useful output tokens of the raw events, past the minimum sample", async () => {
    const from = new Date(now.getTime() - 7 * 86_400_000);
    from.setUTCMinutes(0, 0, 0);
    const fromHour = new Date(from.getTime() + 3600_000);
    const { rows } = await t.db.execute<{ listing_id: string; requests: number; billed: string; useful: string }>(sql`
      select listing_id, count(*)::int as requests, sum(cost_nano)::text as billed,
             coalesce(sum(output_tokens) filter (where ${sql.raw(useful)}), 0)::text as useful
      from usage_events where started_at >= ${fromHour.toISOString()}::timestamptz group by listing_id`);
    const cput = await listingCput(t.db, { window: "7d", now, listingIds: rows.map((r) => r.listing_id) });
    expect(rows.length).toBeGreaterThanOrEqual(4);
    for (const r of rows) {
      expect(r.requests).toBeGreaterThanOrEqual(MIN_CPUT_REQUESTS);
      const c = cput.get(r.listing_id)!;
      if (c.state !== "measured") throw new Error(`not measured: ${r.listing_id}`);
      expect(c.requests).toBe(r.requests);
      expect(c.per1MNano).toBe(divRoundHalfEven(BigInt(r.billed) * 1_000_000n, BigInt(r.useful)));
    }
  });

  it("the buyer's CPUT by model (30 d) equals its raw events", async () => {
    const rows = await buyerCputByListing(t.db, { orgId: await buyerOrg(), window: "30d", now });
    const { rows: raw } = await t.db.execute<{ slug: string; billed: string; useful: string }>(sql`
      select l.slug, sum(e.cost_nano)::text as billed, coalesce(sum(e.output_tokens) filter (where ${sql.raw(useful.replaceAll("status", "e.status").replace("finish_reason", "e.finish_reason"))}), 0)::text as useful
      from usage_events e join listings l on l.id = e.listing_id group by l.slug order by l.slug`);
    expect(rows.map((r) => r.slug)).toEqual(raw.map((r) => r.slug));
    for (const r of rows) {
      const e = raw.find((x) => x.slug === r.slug)!;
      expect(r.costNano).toBe(BigInt(e.billed));
      expect(r.cput.state === "measured" && r.cput.per1MNano).toBe(divRoundHalfEven(BigInt(e.billed) * 1_000_000n, BigInt(e.useful)));
    }
  });

  it("measured energy: the honest profile is verified, the over-declaring one marked, listings without reports unmeasured", async () => {
    const { rows } = await t.db.execute<{ id: string; slug: string; tokens: number; joules: number }>(sql`
      select l.id, l.slug, coalesce(sum(e.input_tokens + e.output_tokens + e.cached_input_tokens) filter (where e.energy_joules is not null), 0)::float8 as tokens,
             coalesce(sum(e.energy_joules), 0)::float8 as joules
      from listings l left join usage_events e on e.listing_id = l.id group by l.id, l.slug`);
    const energy = await listingEnergy(t.db, { listingIds: rows.map((r) => r.id), now });
    const bySlug = new Map(rows.map((r) => [r.slug, { raw: r, e: energy.get(r.id)! }]));
    for (const { raw, e } of bySlug.values()) {
      expect(e.sampleTokens).toBe(raw.tokens);
      if (raw.joules > 0) expect(e.tokensPerJoule).toBeCloseTo(raw.tokens / raw.joules, 9);
    }
    expect(bySlug.get("second-provider/llama-3.1-8b")!.e.verdict).toBe("verified");
    expect(bySlug.get("second-provider/qwen2.5-7b")!.e.verdict).toBe("over-declared");
    expect(bySlug.get("demo-provider/llama-3.1-8b")!.e.verdict).toBe("not-measured");
  });

  it("the energy statement splits measured from declared per model and key, and its measured Wh are the reported joules / 3600", async () => {
    const s = await energyStatement(t.db, { orgId: await buyerOrg(), month: monthOf(now) });
    const { rows } = await t.db.execute<{ joules: number }>(sql`
      select coalesce(sum(energy_joules), 0)::float8 as joules from usage_events
      where started_at >= ${monthOf(now).startsAt.toISOString()}::timestamptz`);
    const measuredWh = s.lines.filter((l) => l.basis === "measured").reduce((sum, l) => sum + (l.wh ?? 0), 0);
    expect(measuredWh).toBeCloseTo(rows[0]!.joules / 3600, 6);
    expect(s.lines.some((l) => l.basis === "declared")).toBe(true);
  });
});

async function buyerOrg(): Promise<string> {
  const { rows } = await t.db.execute<{ id: string }>(sql`select id from organizations where slug = 'demo-buyer'`);
  return rows[0]!.id;
}
