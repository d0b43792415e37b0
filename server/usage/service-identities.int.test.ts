import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceTokenMatcher } from "../auth/service-tokens";
import { uuidv7 } from "../lib/ids";
import { usageCostNano } from "../ledger/money";
import { checkInvariants } from "../ledger/service";
import { createTestDb, type TestDb } from "../testing/db";
import { callerFor, codeOf, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import { accountSums, makeBuyer, makeEvent, makeListing, makeProvider, type WorldListing } from "./testing";

// The attacks of issue #15 on service identities, against the real backend: each used to succeed.
const PROVIDER_TOKEN = "attacker-provider-token-0123456789abcdef01";
const DAY = 24 * 3600 * 1000;
const prices = { inputPer1kNano: 150_000n, outputPer1kNano: 600_000n, cachedInputPer1kNano: 75_000n };

let t: TestDb;
let attacker: { id: string; slug: string };
let own: WorldListing;
let othersListing: WorldListing;
let matcher: ReturnType<typeof serviceTokenMatcher>;

beforeAll(async () => {
  t = await createTestDb();
  attacker = await makeProvider(t.db, "attacker");
  own = await makeListing(t.db, attacker, [{ effectiveFrom: new Date(Date.now() - 40 * DAY), ...prices }]);
  othersListing = await makeListing(t.db, await makeProvider(t.db, "honest"), [{ effectiveFrom: new Date(Date.now() - 40 * DAY), ...prices }]);
  matcher = serviceTokenMatcher(TEST_SERVICE_TOKEN, `${attacker.slug}:${PROVIDER_TOKEN}`);
});
afterAll(() => t.close());

const provider = () => callerFor(t.db, null, PROVIDER_TOKEN, matcher);
const platform = () => callerFor(t.db, null, TEST_SERVICE_TOKEN, matcher);

async function writes() {
  const { rows } = await t.pool.query(
    "select (select count(*) from reservations) r, (select count(*) from ledger_transfers) l, (select count(*) from usage_events) u",
  );
  return rows[0];
}

describe("a provider's service token", () => {
  it("cannot bill $200 000 to another organisation's revoked key without a reservation", async () => {
    const victim = await makeBuyer(t.db, { creditNano: 50n * 1_000_000_000n });
    await t.pool.query("update api_keys set revoked_at = now() - interval '1 hour' where id = $1", [victim.keyIds[0]]);
    // 100M output tokens at $2 per 1k = $200 000.
    const bill = makeEvent({ keyId: victim.keyIds[0]!, listingId: own.id, inputTokens: 0, outputTokens: 100_000_000 });
    await t.pool.query("update listing_prices set output_per1k_nano = 2000000000 where listing_id = $1", [own.id]);
    const before = await writes();
    const res = await provider().usage.report({ events: [bill, { ...bill, id: uuidv7(), reservationId: uuidv7() }] });
    expect(res.results.map((r) => r.status)).toEqual(["rejected", "rejected"]);
    expect(res.results[0]!.reason).toBe("keyId: the key is revoked");
    expect(await writes()).toEqual(before);
    const sums = await accountSums(t.db, victim.orgId);
    expect(sums.get("buyer_credits")!.debits_posted).toBe(0n);
    expect(sums.get("buyer_receivable")?.debits_posted ?? 0n).toBe(0n);
    await t.pool.query("update listing_prices set output_per1k_nano = $2 where listing_id = $1", [own.id, prices.outputPer1kNano]);
  });

  it("cannot bill an active key without a reservation it made, nor against the platform's", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const platformHold = await platform().reservations.reserve({ id: uuidv7(), keyId: buyer.keyIds[0]!, amountNano: 1_000_000_000n, ttlSeconds: 60 });
    const before = await writes();
    const res = await provider().usage.report({
      events: [
        makeEvent({ keyId: buyer.keyIds[0]!, listingId: own.id }),
        makeEvent({ keyId: buyer.keyIds[0]!, listingId: own.id, reservationId: platformHold.id }),
      ],
    });
    expect(res.results.map((r) => r.reason)).toEqual([
      "reservationId: a provider's service token bills only against a reservation it made for this key",
      "reservationId: a provider's service token bills only against a reservation it made for this key",
    ]);
    expect(await writes()).toEqual(before);
  });

  it("cannot reserve or release another provider's buyer's credit", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const platformHold = await platform().reservations.reserve({ id: uuidv7(), keyId: buyer.keyIds[0]!, amountNano: 1_000_000_000n, ttlSeconds: 60 });
    const before = await writes();
    const ask = { id: uuidv7(), keyId: buyer.keyIds[0]!, amountNano: 1_000_000_000_000n, ttlSeconds: 3600 };
    expect(await codeOf(provider().reservations.reserve(ask))).toBe("FORBIDDEN");
    expect(await codeOf(provider().reservations.reserve({ ...ask, listingId: othersListing.id }))).toBe("FORBIDDEN");
    expect(await codeOf(provider().reservations.release({ id: platformHold.id }))).toBe("NOT_FOUND");
    // Replaying the platform's reservation id does not hand its grant to the provider.
    expect(await codeOf(provider().reservations.reserve({ ...ask, id: platformHold.id, listingId: own.id }))).toBe("CONFLICT");
    expect(await writes()).toEqual(before);
    expect((await accountSums(t.db, buyer.orgId)).get("buyer_credits")!.debits_pending).toBe(1_000_000_000n);
  });

  it("bills its own reservation at most what it holds, then nothing more", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const hold = await provider().reservations.reserve({ id: uuidv7(), keyId: buyer.keyIds[0]!, listingId: own.id, amountNano: 1_000_000n, ttlSeconds: 60 });
    expect(hold.grantedNano).toBe(1_000_000n);
    const small = makeEvent({ keyId: buyer.keyIds[0]!, listingId: own.id, reservationId: hold.id, inputTokens: 1000, outputTokens: 0 });
    const big = makeEvent({ keyId: buyer.keyIds[0]!, listingId: own.id, reservationId: hold.id, inputTokens: 0, outputTokens: 100_000 });
    const fullCosts = [usageCostNano({ input: 1000, output: 0, cachedInput: 0 }, prices), usageCostNano({ input: 0, output: 100_000, cachedInput: 0 }, prices)];
    const res = await provider().usage.report({ events: [small, big] });
    // Events take from the hold in id order; together they bill exactly what it held, each at most its own cost.
    expect(res.results.map((r) => r.status)).toEqual(["settled", "settled"]);
    expect(res.results[0]!.costNano! + res.results[1]!.costNano!).toBe(1_000_000n);
    for (const [i, r] of res.results.entries()) expect(r.costNano! <= fullCosts[i]!).toBe(true);
    const after = await provider().usage.report({ events: [makeEvent({ keyId: buyer.keyIds[0]!, listingId: own.id, reservationId: hold.id })] });
    expect(after.results[0]!.reason).toBe("reservationId: the reservation holds nothing any more (released, used up or expired)");
    const sums = await accountSums(t.db, buyer.orgId);
    expect(sums.get("buyer_credits")!.debits_posted).toBe(1_000_000n);
    expect(sums.get("buyer_receivable")?.debits_posted ?? 0n).toBe(0n);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("lists only the keys it reserved for, never the platform's key ids", async () => {
    const mine = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const theirs = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    await provider().reservations.reserve({ id: uuidv7(), keyId: mine.keyIds[0]!, listingId: own.id, amountNano: 1_000n, ttlSeconds: 60 });
    // Both keys change (as an update or a revocation would mark them).
    await t.pool.query("insert into key_state (id, version) values (1, 1) on conflict (id) do update set version = key_state.version + 1");
    await t.pool.query("update api_keys set changed_version = (select version from key_state where id = 1) where id = any($1)", [
      [mine.keyIds[0], theirs.keyIds[0]],
    ]);
    const seen = await provider().keys.revocationVersion({ since: 0 });
    expect(seen.changedKeyIds).toContain(mine.keyIds[0]);
    expect(seen.changedKeyIds).not.toContain(theirs.keyIds[0]);
    expect((await platform().keys.revocationVersion({ since: 0 })).changedKeyIds).toContain(theirs.keyIds[0]);
  });
});
