import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkInvariants } from "../ledger/service";
import { createTestDb, type TestDb } from "../testing/db";
import { callerFor, TEST_SERVICE_TOKEN } from "../testing/fixtures";
import { makeBuyer, makeEvent, makeListing, makeProvider, type WorldListing } from "./testing";

// Issue #15: one event priced past int8 used to abort its whole report, and the reporter
// retried that batch forever while settleQueued merged other proxies' reports into it.
const DAY = 24 * 3600 * 1000;
const prices = { inputPer1kNano: 150_000n, outputPer1kNano: 600_000n, cachedInputPer1kNano: 75_000n };

let t: TestDb;
let normal: WorldListing;
let extreme: WorldListing;

beforeAll(async () => {
  t = await createTestDb();
  const provider = await makeProvider(t.db, "bounded");
  normal = await makeListing(t.db, provider, [{ effectiveFrom: new Date(Date.now() - 40 * DAY), ...prices }]);
  // A price from before prices had a maximum: written directly, as an old row would be.
  extreme = await makeListing(t.db, provider, [
    { effectiveFrom: new Date(Date.now() - 40 * DAY), inputPer1kNano: 0n, outputPer1kNano: 4_000_000_000_000_000_000n, cachedInputPer1kNano: 0n },
  ]);
});
afterAll(() => t.close());

const platform = () => callerFor(t.db, null, TEST_SERVICE_TOKEN);

describe("bounded money in settlement", () => {
  it("settles 999 events and rejects the one that overflows, alone, while another proxy's report settles", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 1_000_000_000_000n });
    const good = Array.from({ length: 999 }, () => makeEvent({ keyId: buyer.keyIds[0]!, listingId: normal.id }));
    const overflowing = makeEvent({ keyId: buyer.keyIds[0]!, listingId: extreme.id, outputTokens: 100_000_000 });
    const otherProxy = Array.from({ length: 50 }, () => makeEvent({ keyId: buyer.keyIds[0]!, listingId: normal.id }));
    const [mixed, other] = await Promise.all([
      platform().usage.report({ events: [...good.slice(0, 500), overflowing, ...good.slice(500)] }),
      platform().usage.report({ events: otherProxy }),
    ]);
    expect(mixed.results.filter((r) => r.status === "settled")).toHaveLength(999);
    expect(mixed.results[500]).toMatchObject({ id: overflowing.id, status: "rejected", costNano: null });
    expect(mixed.results[500]!.reason).toMatch(/^tokens: the event would cost more than \$1,000,000/);
    expect(other.results.every((r) => r.status === "settled")).toBe(true);
    const { rows } = await t.pool.query("select count(*)::int n from usage_events where id = $1", [overflowing.id]);
    expect(rows[0].n).toBe(0);
    expect(await checkInvariants(t.db)).toEqual([]);
  });

  it("a report whose transaction fails fails alone: the reports beside it settle, and it settles once resent", async () => {
    const buyer = await makeBuyer(t.db, { creditNano: 1_000_000_000_000n });
    const poison = makeEvent({ keyId: buyer.keyIds[0]!, listingId: normal.id });
    // Stands in for any failure one report can cause inside its transaction.
    await t.pool.query(`create function poison_event() returns trigger language plpgsql as $$
      begin if new.id = '${poison.id}' then raise exception 'poisoned event'; end if; return new; end $$`);
    await t.pool.query("create trigger poison_event before insert on usage_events for each row execute function poison_event()");
    const events = (n: number) => Array.from({ length: n }, () => makeEvent({ keyId: buyer.keyIds[0]!, listingId: normal.id }));
    // Reports run side by side (stage 1 shares no row): a big one, the poisoned one and small ones at once.
    const busy = platform().usage.report({ events: events(2000) });
    const bad = platform()
      .usage.report({ events: [poison, ...events(10)] })
      .then(
        () => "settled",
        () => "failed",
      );
    const fine = Array.from({ length: 3 }, () => platform().usage.report({ events: events(20) }));
    expect((await busy).results.every((r) => r.status === "settled")).toBe(true);
    expect(await bad).toBe("failed");
    for (const f of await Promise.all(fine)) expect(f.results.every((r) => r.status === "settled")).toBe(true);
    await t.pool.query("drop trigger poison_event on usage_events");
    expect((await platform().usage.report({ events: [poison] })).results[0]!.status).toBe("settled");
    expect(await checkInvariants(t.db)).toEqual([]);
  });
});
