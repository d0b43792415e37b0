import { sql } from "drizzle-orm";
import { afterAll, beforeAll, expect, it } from "vitest";
import { uuidv7 } from "../lib/ids";
import { createTestDb, type TestDb } from "../testing/db";
import { reserve } from "../usage/reservations";
import { accountSums, makeBuyer } from "../usage/testing";
import { PARTITION_MONTHS_AHEAD, runWorkerTick } from "./jobs";

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb(2);
});
afterAll(() => t.close());

it("a worker tick expires reservations once and keeps usage partitions ahead of the clock", async () => {
  const buyer = await makeBuyer(t.db, { creditNano: 1_000_000_000n });
  const r = await reserve(t.db, { id: uuidv7(), keyId: buyer.keyIds[0]!, amountNano: 300_000_000n, ttlSeconds: 5 });
  expect((await accountSums(t.db, buyer.orgId)).get("buyer_credits")!.debits_pending).toBe(300_000_000n);

  const before = await runWorkerTick(t.db, new Date(r.expiresAt.getTime() - 1000));
  expect(before.expiredHolds).toBe(0);
  const later = new Date(r.expiresAt.getTime() + 1000);
  const [a, b] = await Promise.all([runWorkerTick(t.db, later), runWorkerTick(t.db, later)]);
  expect(a.expiredHolds + b.expiredHolds).toBe(1);
  expect((await accountSums(t.db, buyer.orgId)).get("buyer_credits")!.debits_pending).toBe(0n);

  // A clock a year ahead: the tick creates that month's partition and the next ones.
  const nextYear = new Date(Date.UTC(new Date().getUTCFullYear() + 1, 6, 15));
  const tick = await runWorkerTick(t.db, nextYear);
  expect(tick.partitionsCreated).toBe(PARTITION_MONTHS_AHEAD + 1);
  const { rows } = await t.pool.query<{ name: string }>(
    "select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'usage_events'::regclass order by 1",
  );
  const y = nextYear.getUTCFullYear();
  expect(rows.map((r) => r.name)).toEqual(
    expect.arrayContaining([`usage_events_${y}_07`, `usage_events_${y}_08`, `usage_events_${y}_09`, `usage_events_${y}_10`]),
  );
  expect((await runWorkerTick(t.db, nextYear)).partitionsCreated).toBe(0);
});

it("a tick rebuilds the token-economy summary once it is older than the refresh period, one worker at a time", async () => {
  const org = uuidv7();
  const listing = uuidv7();
  await t.db.execute(sql`insert into organizations (id, name, slug) values (${org}, 'Jobs provider', 'jobs-provider')`);
  await t.db.execute(sql`
    insert into listings (id, org_id, slug, model_slug, name, description, family, context_length, modalities, upstream_base_url, upstream_model)
    values (${listing}, ${org}, 'jobs-provider/m', 'm', 'M', '', 'f', 8192, array['chat']::modality[], 'http://127.0.0.1:9/v1', 'm')`);
  const now = new Date();
  const hour = new Date(now);
  hour.setUTCMinutes(0, 0, 0);
  await t.db.execute(sql`
    insert into listing_hourly (listing_id, hour, provider_org_id, requests, errors, input_tokens, output_tokens, cached_input_tokens,
                                cost_nano, fee_nano, latency_ms_sum, ttft_ms_sum, ttft_count, useful_output_tokens)
    values (${listing}, ${hour.toISOString()}::timestamptz, ${org}, 25, 0, 1000, 500, 0, 75000, 3750, 0, 0, 0, 500)`);
  const requests = async () => {
    const { rows } = await t.db.execute<{ n: string }>(sql`select coalesce(sum(requests), 0)::text as n from listing_economy where listing_id = ${listing}`);
    return Number(rows[0]!.n);
  };

  // Two workers due at once: one rebuilds, the other skips rather than waits; every window gets its row.
  const [a, b] = await Promise.all([runWorkerTick(t.db, now, 60), runWorkerTick(t.db, now, 60)]);
  expect([a.economyRefreshed, b.economyRefreshed].filter(Boolean).length).toBeGreaterThanOrEqual(1);
  expect(await requests()).toBe(3 * 25);
  await t.db.execute(sql`update listing_hourly set requests = 30 where listing_id = ${listing}`);
  // Within the period the summary stands; past it the next tick rebuilds it.
  expect((await runWorkerTick(t.db, new Date(now.getTime() + 59_000), 60)).economyRefreshed).toBe(false);
  expect(await requests()).toBe(3 * 25);
  expect((await runWorkerTick(t.db, new Date(now.getTime() + 60_000), 60)).economyRefreshed).toBe(true);
  expect(await requests()).toBe(3 * 30);
});
