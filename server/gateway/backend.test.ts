import { describe, expect, it } from "vitest";
import { uuidv7 } from "../lib/ids";
import { usageEventWire, type UsageEvent } from "../usage/contract";
import { ingestAnswerJson, parseIngestAnswer } from "../usage/ingest-wire";
import { readAllRoutingPages, usageEventJson, type RoutingListing } from "./backend";

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

/** An event whose upstream over-reported: the claim travels with it, its reason free text. */
const anomalous = (): UsageEvent => ({
  ...event(true),
  anomaly: {
    reason: 'completion_tokens 9000 exceed max_tokens × n = 32 "quoted"',
    reportedInputTokens: 7,
    reportedOutputTokens: 9000,
    reportedCachedInputTokens: 5,
  },
});

/** An event with its finish reason and measured energy (issue #21): a tiny figure prints in exponent form. */
const measured = (energyJoules: number): UsageEvent => ({ ...event(true), finishReason: "tool_calls", energyJoules });

describe("the usage ingest wire format, written directly", () => {
  it("each event's line is what JSON.stringify gives", () => {
    for (const e of [event(true), event(false), anomalous(), measured(41.5), measured(1.5e-7)]) expect(usageEventJson(e)).toBe(JSON.stringify(e));
  });

  it("the backend's wire schema reads each line back to the same event, dates as dates", () => {
    for (const e of [event(true), event(false), anomalous(), measured(41.5), measured(1.5e-7)])
      expect(usageEventWire.parse(JSON.parse(usageEventJson(e)))).toEqual(e);
  });

  it("answers round-trip with exact bigint costs", () => {
    const results = [
      { id: "a", status: "settled" as const, costNano: 9_007_199_254_740_993n, reason: null },
      { id: "b", status: "rejected" as const, costNano: null, reason: 'tokens: "quoted" reason' },
    ];
    expect(parseIngestAnswer(ingestAnswerJson(results))).toEqual(results);
  });
});

describe("readAllRoutingPages", () => {
  const listing = (slug: string) => ({ slug }) as RoutingListing;
  it("follows nextCursor to the last page", async () => {
    const pages: Record<string, { listings: RoutingListing[]; nextCursor: string | null }> = {
      "": { listings: [listing("a/1"), listing("a/2")], nextCursor: "a/2" },
      "a/2": { listings: [], nextCursor: "a/3" },
      "a/3": { listings: [listing("b/1")], nextCursor: null },
    };
    const asked: (string | undefined)[] = [];
    const all = await readAllRoutingPages(async (after) => (asked.push(after), pages[after ?? ""]!));
    expect(all.map((l) => l.slug)).toEqual(["a/1", "a/2", "b/1"]);
    expect(asked).toEqual([undefined, "a/2", "a/3"]);
  });

  it("fails instead of looping when the backend repeats a cursor", async () => {
    await expect(readAllRoutingPages(async () => ({ listings: [listing("a/1")], nextCursor: "a/1" }))).rejects.toThrow(/repeated the cursor/);
  });
});
