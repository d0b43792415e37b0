import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { activityPage } from "../dashboards/activity";
import { uuidv7 } from "../lib/ids";
import { checkInvariants } from "../ledger/service";
import { createTestDb, type TestDb } from "../testing/db";
import { TEST_SERVICE_TOKEN, testServiceTokens } from "../testing/fixtures";
import type { UsageEvent } from "./contract";
import { getGeneration } from "./generation";
import { handleIngest } from "./ingest-http";
import { parseIngestAnswer } from "./ingest-wire";
import { settlementMetricsText } from "./metrics";
import { release, reserve } from "./reservations";
import { reportUsage } from "./settlement";
import { settleWindow } from "./settler";
import { accountSums, makeBuyer, makeEvent, makeListing, makeProvider, type WorldListing } from "./testing";

// Issue #18 item 4: what two-stage settlement changes for callers. Usage acknowledged by stage 1
// is billed at once and reaches the ledger with the settler's next window; meanwhile it says so.

const DAY = 86_400_000;
const platform = { kind: "platform" as const };
const windowed = { service: platform, defaultFeeBps: 500, settle: "windowed" as const };

let t: TestDb;
let listing: WorldListing;
beforeAll(async () => {
  t = await createTestDb();
  const provider = await makeProvider(t.db, "two-stage");
  listing = await makeListing(t.db, provider, [
    { effectiveFrom: new Date(Date.now() - DAY), inputPer1kNano: 1_000_000n, outputPer1kNano: 2_000_000n, cachedInputPer1kNano: 0n },
  ]);
});
afterAll(() => t.close());

/** Settles every waiting batch (as the worker's loop would). */
async function settleAll() {
  while (await settleWindow(t.db));
}

const ingest = (events: unknown[], authorization: string | null = `Bearer ${TEST_SERVICE_TOKEN}`, body?: string) =>
  handleIngest(t.db, { body: body ?? JSON.stringify({ events }), authorization }, testServiceTokens, "windowed");

describe("windowed settlement", () => {
  it("answers with the cost at once, says settling (generation, activity log) until a window takes the batch, then the ledger has it", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const event = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id });
    const [result] = await reportUsage(t.db, { events: [event], ...windowed });
    expect(result).toMatchObject({ status: "settled", costNano: 2_000_000n });
    expect(await getGeneration(t.db, { id: event.id, keyId: event.keyId, service: platform })).toMatchObject({ costNano: 2_000_000n, settlement: "settling" });
    expect((await activityPage(t.db, { orgId: buyer.orgId, filter: {}, limit: 10 })).rows).toMatchObject([
      { id: event.id, costNano: 2_000_000n, settling: true },
    ]);
    expect((await accountSums(t.db, buyer.orgId)).get("buyer_credits")!.debits_posted).toBe(0n);

    const window = await settleWindow(t.db);
    expect(window).toMatchObject({ batches: 1, events: 1, costNano: 2_000_000n });
    expect(await getGeneration(t.db, { id: event.id, keyId: event.keyId, service: platform })).toMatchObject({ settlement: "settled" });
    expect((await activityPage(t.db, { orgId: buyer.orgId, filter: {}, limit: 10 })).rows).toMatchObject([{ id: event.id, settling: false }]);
    expect((await accountSums(t.db, buyer.orgId)).get("buyer_credits")!.debits_posted).toBe(2_000_000n);
    // Sent again after its window: a duplicate at the same cost, and no new batch.
    expect((await reportUsage(t.db, { events: [event], ...windowed }))[0]).toMatchObject({ status: "duplicate", costNano: 2_000_000n });
    expect(await settleWindow(t.db)).toBeNull();
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("release waits for acknowledged usage: it returns only what the usage left of the hold", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const r = await reserve(t.db, { id: uuidv7(), keyId: buyer.keyIds[0]!, amountNano: 100_000_000n, ttlSeconds: 60 });
    const events = Array.from({ length: 5 }, () => makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, reservationId: r.id }));
    await reportUsage(t.db, { events: events, ...windowed });
    // No settler ran: release itself settles what was acknowledged before it.
    expect(await release(t.db, { id: r.id })).toEqual({ releasedNano: 100_000_000n - 5n * 2_000_000n });
    const credits = (await accountSums(t.db, buyer.orgId)).get("buyer_credits")!;
    expect([credits.debits_posted, credits.debits_pending]).toEqual([10_000_000n, 0n]);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("past the backlog limit a report is refused with 503 and writes nothing; settled, it is accepted", async () => {
    await settleAll();
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const one = () => [makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id })];
    const limited = { ...windowed, backlogLimit: 2 };
    for (let i = 0; i < 3; i++) expect((await reportUsage(t.db, { events: one(), ...limited }))[0]!.status).toBe("settled");
    const refused = one();
    await expect(reportUsage(t.db, { events: refused, ...limited })).rejects.toMatchObject({ code: "BUSY" });
    expect((await t.pool.query("select count(*)::int as n from usage_events where id = $1", [refused[0]!.id])).rows[0].n).toBe(0);
    // The lean path answers 503 for the same state (its limit comes from USAGE_BACKLOG_MAX_BATCHES, here 3 waiting < 5000).
    await settleAll();
    expect((await reportUsage(t.db, { events: refused, ...limited }))[0]!.status).toBe("settled");
  });

  it("the ledger lag is on the metrics while batches wait, and back to 0 once settled", async () => {
    await settleAll();
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    await reportUsage(t.db, { events: [makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id })], ...windowed });
    const later = new Date(Date.now() + 4_000);
    const waiting = (await settlementMetricsText(t.db, { now: later })).body;
    expect(Number(/^tokenmarket_usage_ledger_lag_seconds (\S+)$/m.exec(waiting)![1])).toBeGreaterThanOrEqual(3.9);
    expect(waiting).toMatch(/^tokenmarket_usage_unsettled_batches 1$/m);
    await settleAll();
    const after = (await settlementMetricsText(t.db)).body;
    expect(after).toMatch(/^tokenmarket_usage_ledger_lag_seconds 0$/m);
    expect(after).toMatch(/^tokenmarket_usage_unsettled_batches 0$/m);
  });
});

describe("the lean ingest path", () => {
  it("answers like usage.report: settled, duplicate, conflict and rejected, costs exact", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const a = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id });
    const b = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, inputTokens: 3 });
    const first = await ingest([a, b]);
    expect(first.status).toBe(200);
    expect(parseIngestAnswer(first.body)).toEqual([
      { id: a.id, status: "settled", costNano: 2_000_000n, reason: null },
      { id: b.id, status: "settled", costNano: 1_003_000n, reason: null },
    ]);
    const notV7 = { ...makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id }), id: randomUUID() };
    const again = parseIngestAnswer((await ingest([a, { ...b, outputTokens: 1 }, notV7, { ...a, id: "nope" }])).body);
    expect(again.map((r) => r.status)).toEqual(["duplicate", "conflict", "rejected", "rejected"]);
    expect(again[2]!.reason).toMatch(/^id: must be a UUIDv7/);
    expect(again[3]!.reason).toMatch(/^id: /);
    await settleAll();
    expect((await accountSums(t.db, buyer.orgId)).get("buyer_credits")!.debits_posted).toBe(3_003_000n);
  });

  it("refuses callers without a service token and bodies it cannot read, writing nothing", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const e: UsageEvent = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id });
    expect((await ingest([e], null)).status).toBe(401);
    expect((await ingest([e], "Bearer not-the-token")).status).toBe(401);
    expect(await ingest([], undefined, "{not json")).toEqual({ status: 400, body: JSON.stringify({ error: "body: is not JSON" }) });
    expect((await ingest([])).status).toBe(400);
    expect((await ingest(Array.from({ length: 5001 }, () => e))).status).toBe(400);
    expect((await t.pool.query("select count(*)::int as n from usage_events where id = $1", [e.id])).rows[0].n).toBe(0);
  });
});
