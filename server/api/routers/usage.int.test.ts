import { TRPCError } from "@trpc/server";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceTokenMatcher } from "../../auth/service-tokens";
import { uuidv7 } from "../../lib/ids";
import { splitFee, usageCostNano } from "../../ledger/money";
import { checkInvariants, expirePending } from "../../ledger/service";
import { createTestDb, type TestDb } from "../../testing/db";
import { callerFor, TEST_SERVICE_TOKEN } from "../../testing/fixtures";
import type { UsageEvent } from "../../usage/contract";
import { accountSums, makeBuyer, makeEvent, makeKey, makeListing, makeProvider, type WorldListing } from "../../usage/testing";

const PROVIDER_TOKEN = "provider-scoped-token-0123456789abcdef0123";
const DAY = 24 * 3600 * 1000;

let t: TestDb;
let provider: { id: string; slug: string };
let other: { id: string; slug: string };
let listing: WorldListing;
let otherListing: WorldListing;
let matcher: ReturnType<typeof serviceTokenMatcher>;
const prices = { inputPer1kNano: 150_000n, outputPer1kNano: 600_000n, cachedInputPer1kNano: 75_000n };

beforeAll(async () => {
  t = await createTestDb();
  provider = await makeProvider(t.db, "prov");
  other = await makeProvider(t.db, "other");
  listing = await makeListing(t.db, provider, [{ effectiveFrom: new Date(Date.now() - 40 * DAY), ...prices }]);
  otherListing = await makeListing(t.db, other, [{ effectiveFrom: new Date(Date.now() - 40 * DAY), ...prices }]);
  matcher = serviceTokenMatcher(TEST_SERVICE_TOKEN, `${provider.slug}:${PROVIDER_TOKEN}`);
});
afterAll(() => t.close());

const platform = () => callerFor(t.db, null, TEST_SERVICE_TOKEN, matcher);
const providerCaller = () => callerFor(t.db, null, PROVIDER_TOKEN, matcher);
const cost = (e: UsageEvent) => usageCostNano({ input: e.inputTokens, output: e.outputTokens, cachedInput: e.cachedInputTokens }, prices);

describe("usage.report", () => {
  it("settles valid events, rejects invalid ones naming the field, and answers a resend the same way", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const good = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id });
    const now = Date.now();
    const bad: [unknown, RegExp][] = [
      [{ ...makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id }), inputTokens: -1 }, /^inputTokens: /],
      [{ ...makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id }), outputTokens: 1.5 }, /^outputTokens: /],
      [{ ...makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id }), id: "not-a-uuid" }, /^id: /],
      [makeEvent({ keyId: uuidv7(), listingId: listing.id }), /^keyId: no such API key/],
      [makeEvent({ keyId: buyer.keyIds[0]!, listingId: uuidv7() }), /^listingId: no such listing/],
      [makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, startedAt: new Date(now - 36 * DAY) }), /^startedAt: is more than 35 days ago/],
      [
        makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, startedAt: new Date(now), endedAt: new Date(now + 3600_000) }),
        /^endedAt: is in the future/,
      ],
      [
        makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, startedAt: new Date(now - 1000), endedAt: new Date(now - 2000) }),
        /^endedAt: must not be before startedAt/,
      ],
      [
        makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, startedAt: new Date(now - 1000), firstTokenAt: new Date(now - 2000) }),
        /^firstTokenAt: must not be before/,
      ],
      [{ ...makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id }), status: "maybe" }, /^status: /],
    ];
    const events = [good, ...bad.map(([e]) => e)];
    const first = await platform().usage.report({ events });
    expect(first.results[0]).toEqual({ id: good.id, status: "settled", costNano: cost(good), reason: null });
    bad.forEach(([, reason], i) => {
      expect(first.results[i + 1]!.status).toBe("rejected");
      expect(first.results[i + 1]!.reason).toMatch(reason);
    });
    const again = await platform().usage.report({ events });
    expect(again.results[0]).toEqual({ id: good.id, status: "duplicate", costNano: cost(good), reason: null });
    expect(again.results.slice(1)).toEqual(first.results.slice(1));
    const { rows } = await t.pool.query("select count(*)::int as n from usage_events where id = $1", [good.id]);
    expect(rows[0].n).toBe(1);
    const buyerAccounts = await accountSums(t.db, buyer.orgId);
    expect(buyerAccounts.get("buyer_credits")!.debits_posted).toBe(cost(good));
  });

  it("a different event under a used id is a conflict: stored for finance, never billed", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const e = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id });
    await platform().usage.report({ events: [e] });
    const changed = { ...e, outputTokens: e.outputTokens + 1000 };
    const res = await platform().usage.report({ events: [changed, changed] });
    expect(res.results.map((r) => r.status)).toEqual(["conflict", "duplicate"]);
    expect((await platform().usage.report({ events: [changed] })).results[0]!.status).toBe("conflict");
    const { rows } = await t.pool.query("select reports, event->>'outputTokens' as out from usage_conflicts where id = $1", [e.id]);
    expect(rows).toEqual([{ reports: 2, out: String(changed.outputTokens) }]);
    expect((await accountSums(t.db, buyer.orgId)).get("buyer_credits")!.debits_posted).toBe(cost(e));
  });

  it("the same id twice in one batch settles once", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const e = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id });
    const res = await platform().usage.report({ events: [e, e, { ...e, inputTokens: 7 }] });
    expect(res.results.map((r) => r.status)).toEqual(["settled", "duplicate", "rejected"]);
    expect(res.results[2]!.reason).toMatch(/^id: appears twice/);
    expect((await accountSums(t.db, buyer.orgId)).get("buyer_credits")!.debits_posted).toBe(cost(e));
  });

  it("a provider's token reports only that provider's listings; the platform's any", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const hold = await providerCaller().reservations.reserve({
      id: uuidv7(),
      keyId: buyer.keyIds[0]!,
      listingId: listing.id,
      amountNano: 1_000_000_000n,
      ttlSeconds: 60,
    });
    const mine = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, reservationId: hold.id });
    const theirs = makeEvent({ keyId: buyer.keyIds[0]!, listingId: otherListing.id });
    const res = await providerCaller().usage.report({ events: [mine, theirs] });
    expect(res.results[0]!.status).toBe("settled");
    expect(res.results[1]).toMatchObject({ status: "rejected", reason: expect.stringMatching(/^listingId: this service token may only report usage of /) });
    expect((await platform().usage.report({ events: [theirs] })).results[0]!.status).toBe("settled");
  });

  it("splits cost into the provider's share and the fee (per-provider override), and posts usage past credit as owed", async () => {
    const cheap = await makeProvider(t.db, "discount");
    await t.pool.query("insert into provider_fee_overrides (org_id, fee_bps) values ($1, 1234)", [cheap.id]);
    const cheapListing = await makeListing(t.db, cheap, [{ effectiveFrom: new Date(Date.now() - DAY), ...prices }]);
    const buyer = await makeBuyer(t.db, { creditNano: 1_000n });
    const e = makeEvent({ keyId: buyer.keyIds[0]!, listingId: cheapListing.id, inputTokens: 12_345, outputTokens: 6_789, cachedInputTokens: 1_111 });
    const c = cost(e);
    const { feeNano } = splitFee(c, 1234);
    await platform().usage.report({ events: [e] });
    const b = await accountSums(t.db, buyer.orgId);
    expect(b.get("buyer_credits")!.debits_posted).toBe(1_000n);
    expect(b.get("buyer_receivable")!.debits_posted).toBe(c - 1_000n);
    expect((await accountSums(t.db, cheap.id)).get("provider_payable")!.credits_posted).toBe(c - feeNano);
    const { rows } = await t.pool.query("select cost_nano, fee_nano from usage_events where id = $1", [e.id]);
    expect(rows[0]).toEqual({ cost_nano: c, fee_nano: feeNano });
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("prices an event at the version in force at its start: before t old, at and after t new", async () => {
    const changeAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3 * 3600_000);
    const oldPrice = { inputPer1kNano: 100_000n, outputPer1kNano: 200_000n, cachedInputPer1kNano: 50_000n };
    const newPrice = { inputPer1kNano: 333_333n, outputPer1kNano: 777_777n, cachedInputPer1kNano: 11_111n };
    const repriced = await makeListing(t.db, provider, [
      { effectiveFrom: new Date(changeAt.getTime() - 10 * DAY), ...oldPrice },
      { effectiveFrom: changeAt, ...newPrice },
    ]);
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const at = (ms: number) =>
      makeEvent({
        keyId: buyer.keyIds[0]!,
        listingId: repriced.id,
        startedAt: new Date(changeAt.getTime() + ms),
        inputTokens: 1001,
        outputTokens: 999,
        cachedInputTokens: 3,
      });
    const events = [at(-3600_000), at(-1), at(0), at(1), at(3600_000)];
    const res = await platform().usage.report({ events });
    const priced = (e: UsageEvent, p: typeof oldPrice) => usageCostNano({ input: e.inputTokens, output: e.outputTokens, cachedInput: e.cachedInputTokens }, p);
    expect(res.results.map((r) => r.costNano)).toEqual([
      priced(events[0]!, oldPrice),
      priced(events[1]!, oldPrice),
      priced(events[2]!, newPrice),
      priced(events[3]!, newPrice),
      priced(events[4]!, newPrice),
    ]);
    expect(priced(events[1]!, oldPrice)).not.toBe(priced(events[2]!, newPrice));
    const early = makeEvent({ keyId: buyer.keyIds[0]!, listingId: (await makeListing(t.db, provider, [{ effectiveFrom: new Date(), ...newPrice }])).id });
    expect((await platform().usage.report({ events: [early] })).results[0]).toMatchObject({
      status: "rejected",
      reason: expect.stringMatching(/^startedAt: the listing had no price/),
    });
  });

  it("keeps per-key daily spend and hourly rollups", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
    const hour = new Date(Math.floor((Date.now() - 2 * 3600_000) / 3600_000) * 3600_000);
    const a = makeEvent({
      keyId: buyer.keyIds[0]!,
      listingId: listing.id,
      startedAt: new Date(hour.getTime() + 1000),
      firstTokenAt: new Date(hour.getTime() + 1250),
      endedAt: new Date(hour.getTime() + 3000),
    });
    const b = makeEvent({
      keyId: buyer.keyIds[0]!,
      listingId: listing.id,
      startedAt: new Date(hour.getTime() + 5000),
      firstTokenAt: null,
      endedAt: new Date(hour.getTime() + 5500),
      status: "error",
    });
    await platform().usage.report({ events: [a, b] });
    const { rows } = await t.pool.query("select * from usage_hourly where key_id = $1", [buyer.keyIds[0]]);
    expect(rows).toEqual([
      expect.objectContaining({
        hour,
        requests: 2n,
        input_tokens: BigInt(a.inputTokens + b.inputTokens),
        cost_nano: cost(a) + cost(b),
        errors: 1n,
        latency_ms_sum: 2500n,
        ttft_ms_sum: 250n,
        ttft_count: 1n,
      }),
    ]);
    const spend = await t.db.execute<{ spend_nano: bigint }>(sql`select spend_nano from key_spend_daily where key_id = ${buyer.keyIds[0]!}`);
    expect(spend.rows.map((r) => r.spend_nano)).toEqual([cost(a) + cost(b)]);
  });
});

describe("usage.generation", () => {
  it("returns the settled record only to a key of the buyer organisation", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n, keys: 2 });
    const stranger = await makeBuyer(t.db, { creditNano: 0n });
    const e = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id });
    await platform().usage.report({ events: [e] });
    const g = await platform().usage.generation({ id: e.id, keyId: buyer.keyIds[1]! });
    expect(g).toMatchObject({ id: e.id, listingSlug: listing.slug, providerOrg: provider.slug, costNano: cost(e), startedAt: e.startedAt, status: "ok" });
    expect(await platform().usage.generation({ id: e.id, keyId: stranger.keyIds[0]! })).toBeNull();
    expect(await platform().usage.generation({ id: uuidv7(), keyId: buyer.keyIds[0]! })).toBeNull();
  });
});

describe("reservations", () => {
  it("grants what the balance allows, consumes it with usage, releases the rest; settled usage is not counted twice", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 1_000_000_000n });
    const key = buyer.keyIds[0]!;
    const r = await platform().reservations.reserve({ id: uuidv7(), keyId: key, amountNano: 400_000_000n, ttlSeconds: 60 });
    expect(r).toMatchObject({ grantedNano: 400_000_000n, limitedBy: null });
    expect(await platform().reservations.reserve({ id: r.id, keyId: key, amountNano: 400_000_000n, ttlSeconds: 60 })).toEqual(r);
    const big = await platform().reservations.reserve({ id: uuidv7(), keyId: key, amountNano: 900_000_000n, ttlSeconds: 60 });
    expect(big).toMatchObject({ grantedNano: 600_000_000n, limitedBy: "credit" });
    expect(await platform().reservations.reserve({ id: uuidv7(), keyId: key, amountNano: 1n, ttlSeconds: 60 })).toMatchObject({
      grantedNano: 0n,
      limitedBy: "credit",
    });

    const e = makeEvent({ keyId: key, listingId: listing.id, reservationId: r.id, inputTokens: 100_000, outputTokens: 100_000 });
    await platform().usage.report({ events: [e] });
    const c = cost(e);
    let b = (await accountSums(t.db, buyer.orgId)).get("buyer_credits")!;
    expect(b.debits_posted).toBe(c);
    expect(b.debits_pending).toBe(400_000_000n - c + 600_000_000n);
    expect(await platform().reservations.release({ id: r.id, amountNano: 1_000n })).toEqual({ releasedNano: 1_000n });
    expect(await platform().reservations.release({ id: r.id })).toEqual({ releasedNano: 400_000_000n - c - 1_000n });
    expect(await platform().reservations.release({ id: r.id })).toEqual({ releasedNano: 0n });
    b = (await accountSums(t.db, buyer.orgId)).get("buyer_credits")!;
    expect(b.debits_pending).toBe(600_000_000n);
    const { rows } = await t.pool.query("select amount_nano, consumed_nano, released_nano, held_nano from reservations where id = $1", [r.id]);
    expect(rows[0]).toEqual({ amount_nano: 400_000_000n, consumed_nano: c, released_nano: 400_000_000n - c, held_nano: 0n });

    // Usage past the reservation still posts; the hold only covers what it held.
    const late = makeEvent({ keyId: key, listingId: listing.id, reservationId: r.id });
    await platform().usage.report({ events: [late] });
    b = (await accountSums(t.db, buyer.orgId)).get("buyer_credits")!;
    expect(b.debits_posted).toBe(c + cost(late));
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("expiry returns the remainder exactly once, and late usage of an expired reservation still posts", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 1_000_000_000n });
    const start = new Date(Date.now() - 60_000);
    const r = await platform().reservations.reserve({ id: uuidv7(), keyId: buyer.keyIds[0]!, amountNano: 500_000_000n, ttlSeconds: 5 });
    const e = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, reservationId: r.id, startedAt: start });
    await platform().usage.report({ events: [e] });
    const at = new Date(r.expiresAt.getTime() + 1);
    await Promise.all([expirePending(t.db, { now: at }), expirePending(t.db, { now: at })]);
    await expirePending(t.db, { now: at });
    const b = (await accountSums(t.db, buyer.orgId)).get("buyer_credits")!;
    expect(b.debits_pending).toBe(0n);
    const { rows } = await t.pool.query(
      "select count(*)::int as n, sum(amount_nano) as amount from ledger_transfers where type = 'expire_pending' and ref_id = $1",
      [r.id],
    );
    expect(rows[0]).toEqual({ n: 1, amount: String(500_000_000n - cost(e)) });
    expect(await platform().reservations.release({ id: r.id })).toEqual({ releasedNano: 0n });
    const late = makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, reservationId: r.id, startedAt: start });
    expect((await platform().usage.report({ events: [late] })).results[0]!.status).toBe("settled");
    expect((await accountSums(t.db, buyer.orgId)).get("buyer_credits")!.debits_posted).toBe(cost(e) + cost(late));
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a blocked organisation (owing more than its credit) gets nothing; a revoked key is refused", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 1_000n });
    await platform().usage.report({ events: [makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id })] });
    expect(await platform().reservations.reserve({ id: uuidv7(), keyId: buyer.keyIds[0]!, amountNano: 10n, ttlSeconds: 60 })).toMatchObject({
      grantedNano: 0n,
      limitedBy: "blocked",
    });
    const revoked = await makeKey(t.db, buyer.orgId);
    await t.pool.query("update api_keys set revoked_at = now() - interval '1 minute' where id = $1", [revoked]);
    const err = await platform()
      .reservations.reserve({ id: uuidv7(), keyId: revoked, amountNano: 10n, ttlSeconds: 60 })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TRPCError);
    expect((err as TRPCError).code).toBe("FORBIDDEN");
  });
});
