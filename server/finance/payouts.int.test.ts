import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payouts } from "../../db/schema";
import { uuidv7 } from "../lib/ids";
import { checkInvariants } from "../ledger/service";
import { createTestDb, type TestDb } from "../testing/db";
import { reportUsage } from "../usage/settlement";
import { makeBuyer, makeEvent, makeListing, makeProvider } from "../usage/testing";
import { monthOf } from "./period";
import { closePeriod } from "./periods";
import { listPayables, recordPayout } from "./payouts";

const $ = (d: number) => BigInt(Math.round(d * 100)) * 10_000_000n;

let t: TestDb;
beforeAll(async () => {
  t = await createTestDb();
});
afterAll(() => t.close());

/** A provider whose funded payable is $90: $100 of usage by a buyer with the credit for it, 10 % fee. */
async function fundedProvider() {
  const provider = await makeProvider(t.db);
  const listing = await makeListing(t.db, provider, [{ inputPer1kNano: $(1), outputPer1kNano: 0n, cachedInputPer1kNano: 0n, effectiveFrom: new Date(0) }]);
  const buyer = await makeBuyer(t.db, { creditNano: $(100) });
  const [r] = await reportUsage(t.db, {
    events: [makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, inputTokens: 100_000, outputTokens: 0 })],
    service: { kind: "platform" },
    defaultFeeBps: 1000,
    settle: "inline",
  });
  expect(r!.status).toBe("settled");
  return provider.id;
}

const today = () => new Date().toISOString().slice(0, 10);
const payout = (orgId: string, amountUsd: string, paidOn = today()) => ({ id: uuidv7(), orgId, amountUsd, paidOn, bankReference: "BANK-REF-1" });
const paidTotal = async (orgId: string) =>
  (await t.db.execute<{ s: bigint }>(sql`select coalesce(sum(amount_nano), 0)::int8 as s from payouts where org_id = ${orgId}::uuid`)).rows[0]!.s;

describe("payouts never exceed funded earnings", () => {
  it("two concurrent payouts of 60 % each: one is paid, the other refused", async () => {
    const orgId = await fundedProvider();
    const results = await Promise.allSettled([
      recordPayout(t.db, { ...payout(orgId, "54"), actorUserId: null }),
      recordPayout(t.db, { ...payout(orgId, "54"), actorUserId: null }),
    ]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = results.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(String(refused.reason)).toMatch(/amountUsd: .*payable balance of \$36/);
    expect(await paidTotal(orgId)).toBe($(54));
  });

  it("eight concurrent payouts of $20 against $90: four are paid, $10 stays", async () => {
    const orgId = await fundedProvider();
    const results = await Promise.allSettled(Array.from({ length: 8 }, () => recordPayout(t.db, { ...payout(orgId, "20"), actorUserId: null })));
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(4);
    expect(await paidTotal(orgId)).toBe($(80));
    expect((await listPayables(t.db)).find((p) => p.orgId === orgId)?.payableNano).toBe($(10));
    expect(await checkInvariants(t.db)).toEqual([]);
  });
});

describe("the paid-on date", () => {
  it("a date in the future is refused, naming the field, and nothing is written", async () => {
    const orgId = await fundedProvider();
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    await expect(recordPayout(t.db, { ...payout(orgId, "5", tomorrow), actorUserId: null })).rejects.toMatchObject({
      field: "paidOn",
      message: expect.stringMatching(/paidOn: .* is in the future/),
    });
    expect(await paidTotal(orgId)).toBe(0n);
  });

  it("a date in a closed month is refused, naming the field, and nothing is written", async () => {
    const orgId = await fundedProvider();
    const now = new Date();
    const lastMonth = monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 15)));
    // The month before the fixtures' activity: closing it passes every reconciliation.
    const closed = monthOf(new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 2, 15)));
    expect((await closePeriod(t.db, { month: closed.month, userId: null })).closed).toBe(true);
    await expect(recordPayout(t.db, { ...payout(orgId, "5", `${closed.month}-20`), actorUserId: null })).rejects.toMatchObject({
      field: "paidOn",
      message: expect.stringMatching(new RegExp(`paidOn: ${closed.month} is closed`)),
    });
    expect(await paidTotal(orgId)).toBe(0n);
    // An open past month is fine.
    const row = await recordPayout(t.db, { ...payout(orgId, "5", `${lastMonth.month}-20`), actorUserId: null });
    expect(row.paidOn).toBe(`${lastMonth.month}-20`);
    expect((await t.db.select().from(payouts)).some((p) => p.id === row.id)).toBe(true);
  });
});
