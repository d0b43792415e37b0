import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseUsd } from "../ledger/money";
import { createTestDb, type TestDb } from "../testing/db";
import { addMember, callerFor, codeOf, makeOrg, makeUser } from "../testing/fixtures";
import type { SessionUser } from "../api/trpc";
import { reportUsage } from "./settlement";
import { settleThrough } from "./settler";
import { makeBuyer, makeEvent, makeListing, makeProvider } from "./testing";
import { settlementHealth } from "./health";

let t: TestDb;
let fin: SessionUser;
beforeAll(async () => {
  t = await createTestDb();
  fin = await makeUser(t.db, "fin");
  const platform = await makeOrg(t.db, await makeUser(t.db, "po"), { isPlatform: true });
  await addMember(t.db, platform.id, fin, "finance");
});
afterAll(() => t.close());

describe("the ledger's lag behind acknowledged usage", () => {
  it("is empty before any usage, then counts the waiting batches and their age, then the windows that settled them", async () => {
    expect(await callerFor(t.db, fin).finance.settlementHealth()).toEqual({ lagSeconds: 0, waitingBatches: 0, waitingEvents: 0, recent: null, shards: [] });

    const provider = await makeProvider(t.db);
    const listing = await makeListing(t.db, provider, [
      { effectiveFrom: new Date(0), inputPer1kNano: parseUsd("1"), outputPer1kNano: 0n, cachedInputPer1kNano: 0n },
    ]);
    const buyer = await makeBuyer(t.db, { creditNano: parseUsd("10") });
    const report = (n: number, shard = 0) =>
      reportUsage(t.db, {
        shard,
        events: Array.from({ length: n }, () => makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, inputTokens: 100, outputTokens: 0 })),
        service: { kind: "platform" },
        defaultFeeBps: 0,
        settle: "windowed",
      });
    const before = Date.now();
    await report(3);
    await report(2);
    const beforeShard2 = Date.now();
    await report(4, 2);
    const later = new Date(Date.now() + 7_000);
    const waiting = await settlementHealth(t.db, { now: later });
    expect(waiting).toMatchObject({ waitingBatches: 3, waitingEvents: 9, recent: null });
    // Each shard's own backlog: shard 0 (the HTTP path's) has the two older batches, shard 2 the newer one.
    expect(waiting.shards.map((s) => [s.shard, s.batches])).toEqual([
      [0, 2],
      [2, 1],
    ]);
    expect(waiting.shards[0]!.lagSeconds).toBe(waiting.lagSeconds);
    expect(waiting.shards[1]!.lagSeconds).toBeLessThanOrEqual((later.getTime() - beforeShard2) / 1000);
    expect(waiting.shards[1]!.lagSeconds).toBeLessThanOrEqual(waiting.lagSeconds);
    // The oldest batch was received between `before` and now; `later` is 7 s on.
    expect(waiting.lagSeconds).toBeGreaterThanOrEqual(7);
    expect(waiting.lagSeconds).toBeLessThanOrEqual((later.getTime() - before) / 1000);

    await settleThrough(t.db);
    const settled = await settlementHealth(t.db);
    expect(settled).toMatchObject({ lagSeconds: 0, waitingBatches: 0, waitingEvents: 0, recent: { windows: 2 }, shards: [] });
    expect(settled.recent!.lastAt.getTime()).toBeGreaterThanOrEqual(before);
    // One window per shard; the worst of them is shard 0's (its batches waited longest).
    const { rows } = await t.pool.query<{ lag_ms: number }>("select lag_ms from usage_windows order by created_at");
    expect(rows).toHaveLength(2);
    expect(settled.recent!.lastLagMs).toBe(rows[1]!.lag_ms);
    expect(settled.recent!.maxLagMs).toBe(Math.max(...rows.map((r) => r.lag_ms)));
  });

  it("is the platform's finance members' to read only", async () => {
    const someone = await makeUser(t.db, "someone");
    await makeOrg(t.db, someone);
    expect(await codeOf(callerFor(t.db, someone).finance.settlementHealth())).toBe("FORBIDDEN");
  });
});
