import { TRPCError } from "@trpc/server";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceTokenMatcher } from "../auth/service-tokens";
import { callerFor, codeOf, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import { createTestDb, type TestDb } from "../testing/db";
import { makeListing, makeProvider } from "./testing";

/** `energy.report` through the tRPC router: a provider's hourly meter readings, idempotent per (listing, hour). */

const MINE = "energy-provider-token-0123456789abcdef0123";
const THEIRS = "energy-other-token-0123456789abcdef012345";
const price = [{ effectiveFrom: new Date(Date.now() - 86_400_000), inputPer1kNano: 1000n, outputPer1kNano: 2000n, cachedInputPer1kNano: 0n }];
const HOUR = 3_600_000;
/** The start of the UTC hour `n` hours before the current one. */
const hoursAgo = (n: number) => new Date(Math.floor(Date.now() / HOUR) * HOUR - n * HOUR);

let t: TestDb;
let mine: ReturnType<typeof callerFor>;
let theirs: ReturnType<typeof callerFor>;
let platform: ReturnType<typeof callerFor>;
let listingId: string;
let otherListingId: string;

beforeAll(async () => {
  t = await createTestDb();
  const me = await makeProvider(t.db, "energy-me");
  const other = await makeProvider(t.db, "energy-other");
  listingId = (await makeListing(t.db, me, price)).id;
  otherListingId = (await makeListing(t.db, other, price)).id;
  const matcher = serviceTokenMatcher(TEST_SERVICE_TOKEN, `${me.slug}:${MINE},${other.slug}:${THEIRS}`);
  mine = callerFor(t.db, null, MINE, matcher);
  theirs = callerFor(t.db, null, THEIRS, matcher);
  platform = callerFor(t.db, null, TEST_SERVICE_TOKEN, matcher);
});
afterAll(() => t.close());

const readings = async () =>
  (await t.pool.query("select listing_id, hour, joules, tokens_served, reported_by, created_at from listing_energy_readings order by 1, 2")).rows;

async function refusal(p: Promise<unknown>): Promise<{ code: string; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof TRPCError) return { code: err.code, message: err.message };
    throw err;
  }
  throw new Error("the call was not refused");
}

describe("energy.report", () => {
  it("records a reading; the same reading sent again changes nothing and answers the same", async () => {
    const reading = { listingId, hour: hoursAgo(2), joules: 1_234_567.25, tokensServed: 9_876_543 };
    const first = await mine.energy.report(reading);
    expect(first).toMatchObject(reading);
    const stored = await readings();
    expect(stored).toHaveLength(1);
    expect(stored[0]).toMatchObject({ listing_id: listingId, joules: 1_234_567.25, tokens_served: 9_876_543n });
    await new Promise((r) => setTimeout(r, 5));
    expect(await mine.energy.report(reading)).toEqual(first);
    expect(await readings()).toEqual(stored);
  });

  it("refuses a resend with different figures, naming the field, and keeps the first", async () => {
    const hour = hoursAgo(3);
    await mine.energy.report({ listingId, hour, joules: 500, tokensServed: 4000 });
    const before = await readings();
    const joules = await refusal(mine.energy.report({ listingId, hour, joules: 501, tokensServed: 4000 }));
    expect(joules.code).toBe("CONFLICT");
    expect(joules.message).toMatch(/^joules: .*already recorded with 500 J and 4000 tokens; the first reading stands/);
    const tokens = await refusal(mine.energy.report({ listingId, hour, joules: 500, tokensServed: 4001 }));
    expect(tokens).toMatchObject({ code: "CONFLICT", message: expect.stringMatching(/^tokensServed: /) });
    const both = await refusal(mine.energy.report({ listingId, hour, joules: 1, tokensServed: 1 }));
    expect(both.message).toMatch(/^joules, tokensServed: /);
    expect(await readings()).toEqual(before);
  });

  it("refuses another provider's token, and the platform's, writing nothing", async () => {
    const before = await readings();
    const reading = { listingId, hour: hoursAgo(4), joules: 10, tokensServed: 10 };
    expect(await refusal(theirs.energy.report(reading))).toEqual({
      code: "FORBIDDEN",
      message: "listingId: this service token may only report energy for its own listings",
    });
    expect(await codeOf(mine.energy.report({ ...reading, listingId: otherListingId }))).toBe("FORBIDDEN");
    expect(await codeOf(platform.energy.report(reading))).toBe("FORBIDDEN");
    expect(await codeOf(mine.energy.report({ ...reading, listingId: "0190a000-0000-7000-8000-00000000dead" }))).toBe("FORBIDDEN");
    expect(await readings()).toEqual(before);
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["NaN joules", { joules: Number.NaN }, /joules/],
    ["infinite joules", { joules: Number.POSITIVE_INFINITY }, /joules/],
    ["negative joules", { joules: -1 }, /joules.*must not be negative/s],
    ["absurd joules", { joules: 1e30 }, /joules.*at most/s],
    ["joules as text", { joules: "12" }, /joules.*number of joules/s],
    ["fractional tokens", { tokensServed: 1.5 }, /tokensServed.*integer/s],
    ["negative tokens", { tokensServed: -3 }, /tokensServed.*must not be negative/s],
    ["an hour not on the hour", { hour: new Date(hoursAgo(2).getTime() + 60_000) }, /hour.*start of a UTC hour/s],
    ["the current hour (not over)", { hour: hoursAgo(0) }, /^hour: must have ended/],
    ["an hour 40 days ago", { hour: hoursAgo(40 * 24) }, /^hour: is more than 35 days ago/],
    ["a listing id that is not a UUID", { listingId: "listing-1" }, /listingId.*UUID/s],
  ];
  it.each(bad)("refuses %s with an error naming the field, writing nothing", async (_label, change, message) => {
    const before = await readings();
    const r = await refusal(mine.energy.report({ listingId, hour: hoursAgo(5), joules: 10, tokensServed: 10, ...change } as never));
    expect(r.code).toBe("BAD_REQUEST");
    expect(r.message).toMatch(message);
    expect(await readings()).toEqual(before);
  });
});
