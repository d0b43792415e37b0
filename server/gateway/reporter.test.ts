import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { uuidv7 } from "../lib/ids";
import type { UsageEvent } from "../usage/contract";
import { CLOCK_AHEAD_REASON } from "../usage/rules";
import type { Backend } from "./backend";
import { UsageReporter } from "./reporter";
import { Spool } from "./spool";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "reporter-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const event = (): UsageEvent => ({
  id: uuidv7(),
  reservationId: null,
  keyId: uuidv7(),
  listingId: uuidv7(),
  inputTokens: 10,
  outputTokens: 20,
  cachedInputTokens: 0,
  startedAt: new Date(),
  firstTokenAt: null,
  endedAt: new Date(),
  status: "ok",
  estimated: false,
  upstreamStatus: 200,
});

/** A backend that fails a whole report (as an aborted transaction would) when `fails` says so, and settles it otherwise. */
function backendThat(fails: (batch: UsageEvent[]) => string | null) {
  const calls: number[] = [];
  const settled = new Set<string>();
  const backend = {
    report: async (batch: UsageEvent[]) => {
      calls.push(batch.length);
      const failure = fails(batch);
      if (failure) throw new Error(failure);
      for (const e of batch) settled.add(e.id);
      return { results: batch.map((e) => ({ id: e.id, status: "settled" as const, costNano: 1n, reason: null })) };
    },
  } as unknown as Backend;
  return { backend, calls, settled };
}

async function run(events: UsageEvent[], fails: (batch: UsageEvent[]) => string | null) {
  const { spool } = Spool.open({ dir, maxBytes: 1e7 });
  const b = backendThat(fails);
  const reporter = new UsageReporter(b.backend, { spool, batchSize: 100, flushMs: 1 });
  await Promise.all(events.map((e) => new Promise<void>((r) => reporter.record(e, r))));
  const left = await reporter.flush(Date.now() + 5_000);
  spool.close();
  return { ...b, left, reporter };
}

it("isolates an event the backend keeps failing on, sets it aside, and settles the rest", async () => {
  const events = Array.from({ length: 300 }, event);
  const poison = events[137]!;
  const { left, settled, calls, reporter } = await run(events, (batch) => (batch.includes(poison) ? "usage.report answered 500: internal error" : null));
  expect(left).toBe(0);
  expect(settled.size).toBe(299);
  expect(settled.has(poison.id)).toBe(false);
  const aside = fs
    .readFileSync(path.join(dir, "rejected.jsonl"), "utf8")
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as { event: { id: string }; reason: string });
  expect(aside).toEqual([
    {
      event: expect.objectContaining({ id: poison.id }),
      reason: expect.stringMatching(/^the backend failed on this event 3 times: usage.report answered 500/),
    },
  ]);
  // Halving finds it in a few dozen calls, not one per event and not forever.
  expect(calls.length).toBeLessThan(50);
  expect(reporter.pending).toBe(0);
});

it("waits out an outage without setting anything aside", async () => {
  let down = 3;
  const events = Array.from({ length: 5 }, event);
  const { left, settled } = await run(events, () => (down-- > 0 ? "usage.report answered 503: unavailable" : null));
  expect(left).toBe(0);
  expect(settled.size).toBe(5);
  expect(fs.existsSync(path.join(dir, "rejected.jsonl"))).toBe(false);
});

// Issue #15: events rejected because this proxy's clock ran ahead were set aside forever.
it("sends an event the backend found to end in its future again later, instead of setting it aside", async () => {
  const { spool } = Spool.open({ dir, maxBytes: 1e7 });
  const early = event();
  let ahead = true;
  const settled: string[] = [];
  const backend = {
    report: async (batch: UsageEvent[]) => ({
      results: batch.map((e) => {
        if (ahead) return { id: e.id, status: "rejected" as const, costNano: null, reason: CLOCK_AHEAD_REASON };
        settled.push(e.id);
        return { id: e.id, status: "settled" as const, costNano: 1n, reason: null };
      }),
    }),
  } as unknown as Backend;
  const reporter = new UsageReporter(backend, { spool, flushMs: 1, clockAheadRetryMs: 50 });
  await new Promise<void>((r) => reporter.record(early, r));
  await reporter.flush(Date.now() + 1_000);
  ahead = false;
  await new Promise((r) => setTimeout(r, 200));
  await reporter.flush(Date.now() + 1_000);
  spool.close();
  expect(settled).toEqual([early.id]);
  expect(fs.existsSync(path.join(dir, "rejected.jsonl"))).toBe(false);
  expect(reporter.stats.clockAhead).toBe(1);
});
