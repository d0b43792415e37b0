import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { orgCreditBalance } from "../credits/postings";
import { buyerMonthly } from "../finance/buyer-statement";
import { monthOf } from "../finance/period";
import { uuidv7 } from "../lib/ids";
import { checkInvariants, expirePending } from "../ledger/service";
import { createTestDb, type TestDb } from "../testing/db";
import { reserve, release } from "./reservations";
import { reportUsage } from "./settlement";
import { accountSums, makeBuyer, makeEvent, makeKey, makeListing, makeProvider } from "./testing";

// Acceptance 3: many concurrent reservations never grant more than the balance plus the
// credit limit, and a key's period limit is never exceeded by grants.

const DAY = 24 * 3600 * 1000;
let t: TestDb;
beforeAll(async () => {
  t = await createTestDb(20);
});
afterAll(() => t.close());

describe("concurrent reservations", () => {
  it("1 000 concurrent reserves against a small balance grant at most balance + credit limit", async () => {
    const balance = 1_000_000_000n;
    const creditLimit = 250_000_000n;
    const buyer = await makeBuyer(t.db, { creditNano: balance, creditLimitNano: creditLimit, keys: 4 });
    const grants = await Promise.all(
      Array.from({ length: 1000 }, (_, i) =>
        reserve(t.db, { id: uuidv7(), keyId: buyer.keyIds[i % 4]!, amountNano: BigInt(1 + ((i * 7919) % 9)) * 10_000_000n, ttlSeconds: 60 }),
      ),
    );
    const granted = grants.reduce((s, g) => s + g.grantedNano, 0n);
    expect(granted).toBe(balance + creditLimit);
    expect(grants.filter((g) => g.grantedNano === 0n).every((g) => g.limitedBy === "credit")).toBe(true);
    const credits = (await accountSums(t.db, buyer.orgId)).get("buyer_credits")!;
    expect(credits.debits_pending).toBe(granted);
    expect(await checkInvariants(t.db)).toEqual([]);
  }, 120_000);

  it("a key's period limit is never exceeded by grants, counting settled spend, open reservations and the key's lineage", async () => {
    const provider = await makeProvider(t.db);
    const listing = await makeListing(t.db, provider, [
      { effectiveFrom: new Date(Date.now() - DAY), inputPer1kNano: 1_000_000n, outputPer1kNano: 0n, cachedInputPer1kNano: 0n },
    ]);
    const buyer = await makeBuyer(t.db, { creditNano: 1_000_000_000_000n, keys: 0 });
    const limit = 300_000_000n;
    const key = await makeKey(t.db, buyer.orgId, { spendLimitNano: limit, limitPeriod: "daily" });
    // A rotated key of the same lineage shares the limit.
    const rotated = uuidv7();
    await t.pool.query(
      "insert into api_keys (id, org_id, lineage_id, name, prefix, last4, hash, spend_limit_nano, limit_period, rotated_from_id) values ($1, $2, $3, 'rotated', 'tm_x', '0000', $4, $5, 'daily', $3)",
      [rotated, buyer.orgId, key, `test-${rotated}`, limit],
    );
    // 50 000 input tokens at $0.001 per 1k: 50 000 000 nano already spent today.
    const spent = makeEvent({ keyId: key, listingId: listing.id, inputTokens: 50_000, outputTokens: 0, startedAt: new Date(Date.now() - 10_000) });
    await reportUsage(t.db, { events: [spent], service: { kind: "platform" }, defaultFeeBps: 500 });
    const grants = await Promise.all(
      Array.from({ length: 1000 }, (_, i) => reserve(t.db, { id: uuidv7(), keyId: i % 2 ? key : rotated, amountNano: 7_000_000n, ttlSeconds: 60 })),
    );
    const granted = grants.reduce((s, g) => s + g.grantedNano, 0n);
    expect(granted).toBe(limit - 50_000_000n);
    expect(grants.some((g) => g.limitedBy === "key_limit")).toBe(true);
    // Releasing returns room under the limit; consuming does not.
    const firstGranted = grants.find((g) => g.grantedNano > 0n)!;
    await release(t.db, { id: firstGranted.id });
    const again = await reserve(t.db, { id: uuidv7(), keyId: key, amountNano: 1_000_000_000n, ttlSeconds: 60 });
    expect(again).toMatchObject({ grantedNano: firstGranted.grantedNano, limitedBy: "key_limit" });
  }, 120_000);

  it("a buyer's balance is credit less what was used; a proxy's hold is apart and gone once released", async () => {
    const provider = await makeProvider(t.db);
    const listing = await makeListing(t.db, provider, [
      { effectiveFrom: new Date(Date.now() - DAY), inputPer1kNano: 1_000n, outputPer1kNano: 2_000n, cachedInputPer1kNano: 0n },
    ]);
    const buyer = await makeBuyer(t.db, { creditNano: 5_000_000_000n, keys: 1 });
    // The proxy's chunk for one tiny call: $0.10 held, 2 000 nano-USD used (1 000 in + 500 out).
    const r = await reserve(t.db, { id: uuidv7(), keyId: buyer.keyIds[0]!, amountNano: 100_000_000n, ttlSeconds: 60 });
    await reportUsage(t.db, {
      events: [makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, reservationId: r.id })],
      service: { kind: "platform" },
      defaultFeeBps: 500,
    });
    const held = await orgCreditBalance(t.db, { orgId: buyer.orgId });
    expect(held).toMatchObject({ balanceNano: 5_000_000_000n - 2_000n, reservedNano: 100_000_000n - 2_000n, availableNano: 5_000_000_000n - 100_000_000n });
    // The statement shows the usage, not the hold: that stands apart as what is held now.
    const statement = await buyerMonthly(t.db, { orgId: buyer.orgId, month: monthOf(new Date()) });
    expect(statement.lines.map((l) => [l.label, l.amountNano])).toEqual([
      ["Top-up", 5_000_000_000n],
      ["Usage: 1 request", -2_000n],
    ]);
    expect(statement).toMatchObject({ closingNano: held.balanceNano, heldNowNano: held.reservedNano });
    await release(t.db, { id: r.id });
    expect(await orgCreditBalance(t.db, { orgId: buyer.orgId })).toMatchObject({
      balanceNano: 5_000_000_000n - 2_000n,
      reservedNano: 0n,
      availableNano: 5_000_000_000n - 2_000n,
    });
  });

  it("concurrent release, settlement and expiry of the same reservations return each remainder exactly once", async () => {
    const provider = await makeProvider(t.db);
    const listing = await makeListing(t.db, provider, [
      { effectiveFrom: new Date(Date.now() - DAY), inputPer1kNano: 1_000n, outputPer1kNano: 2_000n, cachedInputPer1kNano: 0n },
    ]);
    const buyer = await makeBuyer(t.db, { creditNano: 100_000_000_000n, keys: 2 });
    const reservations = await Promise.all(
      Array.from({ length: 200 }, (_, i) => reserve(t.db, { id: uuidv7(), keyId: buyer.keyIds[i % 2]!, amountNano: 100_000_000n, ttlSeconds: 5 })),
    );
    const events = reservations.flatMap((r, i) => [
      makeEvent({ keyId: buyer.keyIds[i % 2]!, listingId: listing.id, reservationId: r.id }),
      makeEvent({ keyId: buyer.keyIds[i % 2]!, listingId: listing.id, reservationId: r.id }),
    ]);
    const afterExpiry = new Date(Math.max(...reservations.map((r) => r.expiresAt.getTime())) + 1);
    await Promise.all([
      ...reservations.filter((_, i) => i % 3 === 0).map((r) => release(t.db, { id: r.id })),
      reportUsage(t.db, { events: events.slice(0, 200), service: { kind: "platform" }, defaultFeeBps: 500 }),
      reportUsage(t.db, { events: events.slice(200), service: { kind: "platform" }, defaultFeeBps: 500 }),
      ...reservations.filter((_, i) => i % 3 === 1).map((r) => release(t.db, { id: r.id, amountNano: 1_000n })),
    ]);
    await Promise.all([expirePending(t.db, { now: afterExpiry }), expirePending(t.db, { now: afterExpiry })]);
    const credits = (await accountSums(t.db, buyer.orgId)).get("buyer_credits")!;
    expect(credits.debits_pending).toBe(0n);
    const { rows } = await t.pool.query<{ amount: bigint; consumed: bigint; released: bigint; expired: bigint }>(
      `
      select sum(r.amount_nano)::int8 as amount, sum(r.consumed_nano)::int8 as consumed, sum(r.released_nano)::int8 as released,
             (select coalesce(sum(t.amount_nano), 0)::int8 from ledger_transfers t where t.type = 'expire_pending' and t.ref_kind = 'reservation' and t.ref_id in (select id::text from reservations where org_id = $1)) as expired
      from reservations r where r.org_id = $1`,
      [buyer.orgId],
    );
    const r = rows[0]!;
    expect(r.consumed + r.released + r.expired).toBe(r.amount);
    expect(credits.debits_posted).toBeGreaterThanOrEqual(r.consumed);
    expect(await checkInvariants(t.db)).toEqual([]);
  }, 120_000);
});
