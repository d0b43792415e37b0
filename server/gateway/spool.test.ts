import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { uuidv7 } from "../lib/ids";
import type { UsageEvent } from "../usage/contract";
import { usageEventJson } from "./backend";
import { Spool } from "./spool";

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "spool-"));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const event = (): UsageEvent => ({
  id: uuidv7(),
  reservationId: uuidv7(),
  keyId: uuidv7(),
  listingId: uuidv7(),
  inputTokens: 10,
  outputTokens: 20,
  cachedInputTokens: 0,
  startedAt: new Date("2026-01-01T00:00:00.123Z"),
  firstTokenAt: null,
  endedAt: new Date("2026-01-01T00:00:01.456Z"),
  status: "ok",
  estimated: false,
  upstreamStatus: 200,
});

const files = () => fs.readdirSync(dir).sort();

it("writes queued events once per event-loop turn and only then runs their callbacks", async () => {
  const { spool } = Spool.open({ dir, maxBytes: 1e6 });
  const order: string[] = [];
  const a = event();
  spool.append(a.id, usageEventJson(a), () => order.push(fs.readFileSync(path.join(dir, files()[0]!), "utf8").includes(a.id) ? "written" : "not yet"));
  expect(order).toEqual([]);
  await new Promise((r) => setImmediate(r));
  expect(order).toEqual(["written"]);
  spool.close();
});

describe("Spool", () => {
  it("replays a segment with unacknowledged events after the process dies (no close), dates intact", () => {
    const { spool } = Spool.open({ dir, maxBytes: 1e6 });
    const [a, b, c] = [event(), event(), event()];
    spool.append(a.id, usageEventJson(a));
    spool.append(b.id, usageEventJson(b));
    spool.append(c.id, usageEventJson(c));
    spool.flush();
    spool.ack(b.id);
    // No close(): what a SIGKILL leaves behind. b is replayed too: acknowledgements are not journalled,
    // and reporting an event twice is harmless (the backend answers "duplicate").
    const again = Spool.open({ dir, maxBytes: 1e6 });
    expect(again.replay).toEqual([a, b, c]);
    again.spool.close();
  });

  it("deletes a segment once every event in it is acknowledged", () => {
    const { spool } = Spool.open({ dir, maxBytes: 1e6 });
    const events = [event(), event()];
    for (const e of events) spool.append(e.id, usageEventJson(e));
    spool.flush();
    expect(files()).toHaveLength(1);
    for (const e of events) spool.ack(e.id);
    spool.close();
    expect(files()).toEqual([]);
    expect(Spool.open({ dir, maxBytes: 1e6 }).replay).toEqual([]);
  });

  it("rotates segments by size and keeps only those with unacknowledged events", () => {
    const { spool } = Spool.open({ dir, maxBytes: 1e6, segmentBytes: 1000 });
    const events = Array.from({ length: 12 }, event);
    for (const e of events) {
      spool.append(e.id, usageEventJson(e));
      spool.flush();
    }
    expect(files().length).toBeGreaterThan(3);
    for (const e of events.slice(0, 11)) spool.ack(e.id);
    const { replay, spool: again } = Spool.open({ dir, maxBytes: 1e6, segmentBytes: 1000 });
    const ids = replay.map((e) => e.id);
    expect(ids).toContain(events[11]!.id);
    // Only the last segment is left (three events of ~330 bytes fill one).
    expect(ids).toEqual(events.slice(12 - ids.length).map((e) => e.id));
    expect(ids.length).toBeLessThanOrEqual(3);
    again.close();
    spool.close();
  });

  it("skips a line cut short by a crash mid-write", () => {
    const { spool } = Spool.open({ dir, maxBytes: 1e6 });
    const a = event();
    spool.append(a.id, usageEventJson(a));
    spool.flush();
    fs.appendFileSync(path.join(dir, files()[0]!), '{"id":"cut-sh');
    expect(Spool.open({ dir, maxBytes: 1e6 }).replay).toEqual([a]);
  });

  it("is full past its byte bound until events are acknowledged", () => {
    const { spool } = Spool.open({ dir, maxBytes: 1000, segmentBytes: 400 });
    const events = Array.from({ length: 4 }, event);
    for (const e of events) {
      spool.append(e.id, usageEventJson(e));
      spool.flush();
    }
    expect(spool.full).toBe(true);
    for (const e of events) spool.ack(e.id);
    expect(spool.full).toBe(false);
    spool.close();
  });
});
