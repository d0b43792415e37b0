import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serviceTokenMatcher } from "../auth/service-tokens";
import { usageEventJson } from "../gateway/backend";
import { usageCostNano } from "../ledger/money";
import { createTestDb, type TestDb } from "../testing/db";
import { callerFor, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import type { UsageEvent } from "./contract";
import { reportUsage } from "./settlement";
import { makeBuyer, makeEvent, makeListing, makeProvider, type WorldBuyer, type WorldListing } from "./testing";

/**
 * Finish reasons and measured energy through intake and stage 1 (issue #21): stored as reported,
 * never part of the cost, part of what makes a resend a duplicate or a conflict, validated
 * like every other field, and held by the table's own checks.
 */

const DAY = 86_400_000;
const prices = { inputPer1kNano: 150_000n, outputPer1kNano: 600_000n, cachedInputPer1kNano: 75_000n };
let t: TestDb;
let listing: WorldListing;
let buyer: WorldBuyer;
let platform: ReturnType<typeof callerFor>;

beforeAll(async () => {
  t = await createTestDb();
  listing = await makeListing(t.db, await makeProvider(t.db, "energy-prov"), [{ effectiveFrom: new Date(Date.now() - 40 * DAY), ...prices }]);
  buyer = await makeBuyer(t.db, { creditNano: 10_000_000_000n });
  platform = callerFor(t.db, null, TEST_SERVICE_TOKEN, serviceTokenMatcher(TEST_SERVICE_TOKEN, undefined));
});
afterAll(() => t.close());

const event = (e: Partial<UsageEvent> = {}) => makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, ...e });
const report = async (events: unknown[]) => (await platform.usage.report({ events })).results;
/** The lean ingest path: events as the proxy's journal lines carry them. */
const reportWire = (events: UsageEvent[]) =>
  reportUsage(t.db, { events: events.map((e) => JSON.parse(usageEventJson(e))), service: { kind: "platform" }, defaultFeeBps: 500, wire: true });
const stored = async (id: string) =>
  (await t.pool.query("select finish_reason, energy_joules, cost_nano from usage_events where id = $1", [id])).rows[0] as {
    finish_reason: string | null;
    energy_joules: number | null;
    cost_nano: bigint;
  };

describe("finish reason and energy on usage events", () => {
  it("are stored as reported by either path, null when absent, and never change the cost", async () => {
    const tokens = { inputTokens: 1234, outputTokens: 567, cachedInputTokens: 89 };
    const expected = usageCostNano({ input: 1234, output: 567, cachedInput: 89 }, prices);
    const plain = event(tokens);
    const measured = event({ ...tokens, finishReason: "length", energyJoules: 250.125 });
    const wired = event({ ...tokens, finishReason: "tool_calls", energyJoules: 1.5e-7 });
    const cut = event({ ...tokens, status: "aborted", finishReason: "aborted", energyJoules: 0 });
    const results = [...(await report([plain, measured, cut])), ...(await reportWire([wired]))];
    expect(results.map((r) => [r.status, r.costNano])).toEqual(Array(4).fill(["settled", expected]));
    expect(await stored(plain.id)).toEqual({ finish_reason: null, energy_joules: null, cost_nano: expected });
    expect(await stored(measured.id)).toEqual({ finish_reason: "length", energy_joules: 250.125, cost_nano: expected });
    expect(await stored(wired.id)).toEqual({ finish_reason: "tool_calls", energy_joules: 1.5e-7, cost_nano: expected });
    expect(await stored(cut.id)).toEqual({ finish_reason: "aborted", energy_joules: 0, cost_nano: expected });
  });

  it("a resend with the same finish reason and energy is a duplicate; one that changes either is a conflict, not billed", async () => {
    const first = event({ finishReason: "stop", energyJoules: 42 });
    const old = event();
    const [settled] = await report([first]);
    await reportWire([old]);
    // One batch each: the same id twice in one batch is refused before it is compared with the stored event.
    const again = [];
    for (const e of [first, { ...first, energyJoules: 43 }, { ...first, finishReason: "length" }, { ...first, energyJoules: null, finishReason: null }])
      again.push(...(await report([e])));
    expect(again.map((r) => r.status)).toEqual(["duplicate", "conflict", "conflict", "conflict"]);
    expect(again[0]!.costNano).toBe(settled!.costNano);
    // An event reported without them (an old proxy) stays a duplicate of itself, by either path; adding energy later is a change.
    expect((await reportWire([old])).map((r) => r.status)).toEqual(["duplicate"]);
    expect((await report([old])).map((r) => r.status)).toEqual(["duplicate"]);
    expect((await report([{ ...old, energyJoules: 5 }])).map((r) => r.status)).toEqual(["conflict"]);
    expect(await stored(first.id)).toMatchObject({ finish_reason: "stop", energy_joules: 42 });
    const { rows } = await t.pool.query("select count(*)::int as n from usage_conflicts where id = any($1::uuid[])", [[first.id, old.id]]);
    expect(rows[0].n).toBe(4);
  });

  it("rejects an invalid finish reason or energy naming the field, billing nothing", async () => {
    const cases: [unknown, RegExp][] = [
      [{ ...event(), finishReason: "done" }, /^finishReason: /],
      [{ ...event(), energyJoules: -1 }, /^energyJoules: must not be negative/],
      [{ ...event(), energyJoules: "12" }, /^energyJoules: must be a number of joules/],
      [{ ...event({ inputTokens: 10, outputTokens: 10 }), energyJoules: 2001 }, /^energyJoules: must be at most 100 J per token \(2000 J here\)/],
      [{ ...event({ inputTokens: 0, outputTokens: 0 }), energyJoules: 101 }, /^energyJoules: must be at most 100 J per token \(100 J here\)/],
    ];
    const before = (await t.pool.query("select count(*)::int as n from usage_events")).rows[0].n;
    const results = await report(cases.map(([e]) => e));
    results.forEach((r, i) => {
      expect(r.status).toBe("rejected");
      expect(r.reason).toMatch(cases[i]![1]);
    });
    expect((await t.pool.query("select count(*)::int as n from usage_events")).rows[0].n).toBe(before);
  });

  it("the table refuses what the contract refuses: NaN, infinite or negative joules, an unknown finish reason", async () => {
    const e = event();
    await report([e]);
    for (const set of ["energy_joules = 'NaN'", "energy_joules = 'Infinity'", "energy_joules = -1", "finish_reason = 'done'"]) {
      await expect(t.pool.query(`update usage_events set ${set} where id = $1`, [e.id])).rejects.toThrow(/check constraint/);
    }
  });
});
