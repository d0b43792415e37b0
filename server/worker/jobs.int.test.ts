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
