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
    expect(await callerFor(t.db, fin).finance.settlementHealth()).toEqual({ lagSeconds: 0, waitingBatches: 0, waitingEvents: 0, recent: null });

    const provider = await makeProvider(t.db);
    const listing = await makeListing(t.db, provider, [
      { effectiveFrom: new Date(0), inputPer1kNano: parseUsd("1"), outputPer1kNano: 0n, cachedInputPer1kNano: 0n },
    ]);
    const buyer = await makeBuyer(t.db, { creditNano: parseUsd("10") });
    const report = (n: number) =>
      reportUsage(t.db, {
        events: Array.from({ length: n }, () => makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, inputTokens: 100, outputTokens: 0 })),
        service: { kind: "platform" },
        defaultFeeBps: 0,
        settle: "windowed",
      });
    const before = Date.now();
    await report(3);
    await report(2);
    const later = new Date(Date.now() + 7_000);
    const waiting = await settlementHealth(t.db, { now: later });
    expect(waiting).toMatchObject({ waitingBatches: 2, waitingEvents: 5, recent: null });
    // The oldest batch was received between `before` and now; `later` is 7 s on.
    expect(waiting.lagSeconds).toBeGreaterThanOrEqual(7);
    expect(waiting.lagSeconds).toBeLessThanOrEqual((later.getTime() - before) / 1000);

    await settleThrough(t.db);
    const settled = await settlementHealth(t.db);
    expect(settled).toMatchObject({ lagSeconds: 0, waitingBatches: 0, waitingEvents: 0, recent: { windows: 1 } });
    expect(settled.recent!.lastAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(settled.recent!.lastLagMs).toBe(settled.recent!.maxLagMs);
    const { rows } = await t.pool.query("select lag_ms from usage_windows");
    expect(rows).toEqual([{ lag_ms: settled.recent!.lastLagMs }]);
  });

  it("is the platform's finance members' to read only", async () => {
    const someone = await makeUser(t.db, "someone");
    await makeOrg(t.db, someone);
    expect(await codeOf(callerFor(t.db, someone).finance.settlementHealth())).toBe("FORBIDDEN");
  });
});
