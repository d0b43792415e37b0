import superjson from "superjson";
import { describe, expect, it } from "vitest";
import { uuidv7 } from "../lib/ids";
import { reportInput, usageEvent, type UsageEvent } from "../usage/contract";
import { encodeReport } from "./backend";

const event = (firstToken: boolean): UsageEvent => ({
  id: uuidv7(),
  reservationId: firstToken ? uuidv7() : null,
  keyId: uuidv7(),
  listingId: uuidv7(),
  inputTokens: 12,
  outputTokens: 34,
  cachedInputTokens: 5,
  startedAt: new Date("2026-03-01T10:00:00.001Z"),
  firstTokenAt: firstToken ? new Date("2026-03-01T10:00:00.250Z") : null,
  endedAt: new Date("2026-03-01T10:00:01.999Z"),
  status: firstToken ? "ok" : "aborted",
  estimated: !firstToken,
  upstreamStatus: firstToken ? 200 : null,
});

describe("encodeReport", () => {
  it("is what superjson would send: the backend decodes the same events, dates as dates", () => {
    const events = [event(true), event(false), event(true)];
    const wire = JSON.parse(JSON.stringify(encodeReport(events)));
    const decoded = superjson.deserialize(wire) as { events: unknown[] };
    expect(decoded).toEqual({ events });
    expect(reportInput.parse(decoded).events.map((e) => usageEvent.parse(e))).toEqual(events);
    expect(wire).toEqual(JSON.parse(JSON.stringify(superjson.serialize({ events }))));
  });
});
