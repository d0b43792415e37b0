import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { consumeHold, decideGrant, eventFingerprint, fromCredits, splitGroups, timingProblem } from "./rules";
import type { UsageEvent } from "./contract";

const now = new Date("2026-11-23T12:00:00Z");
const at = (s: number) => new Date(now.getTime() + s * 1000);

describe("timingProblem", () => {
  const rows: [string, { startedAt: Date; firstTokenAt: Date | null; endedAt: Date }, string | null][] = [
    ["ordinary", { startedAt: at(-10), firstTokenAt: at(-9), endedAt: at(-1) }, null],
    ["no first token", { startedAt: at(-10), firstTokenAt: null, endedAt: at(-10) }, null],
    ["ends within the clock skew", { startedAt: at(-1), firstTokenAt: null, endedAt: at(59) }, null],
    ["ends past the skew", { startedAt: at(-1), firstTokenAt: null, endedAt: at(61) }, "endedAt: is in the future"],
    ["35 days old exactly", { startedAt: at(-35 * 86400), firstTokenAt: null, endedAt: at(-1) }, null],
    ["older than 35 days", { startedAt: at(-35 * 86400 - 1), firstTokenAt: null, endedAt: at(-1) }, "startedAt: is more than 35 days ago"],
    ["ends before it starts", { startedAt: at(-5), firstTokenAt: null, endedAt: at(-6) }, "endedAt: must not be before startedAt"],
    ["first token before start", { startedAt: at(-5), firstTokenAt: at(-6), endedAt: at(-1) }, "firstTokenAt: must not be before startedAt"],
    ["first token after end", { startedAt: at(-5), firstTokenAt: at(0), endedAt: at(-1) }, "firstTokenAt: must not be after endedAt"],
    ["invalid date", { startedAt: new Date(NaN), firstTokenAt: null, endedAt: at(-1) }, "startedAt: must be a valid date"],
  ];
  it.each(rows)("%s", (_label, e, expected) => expect(timingProblem(e, now)).toBe(expected));
});

describe("decideGrant", () => {
  const rows: [string, bigint, bigint, bigint | null, bigint, string | null][] = [
    ["all of it", 100n, 1000n, null, 100n, null],
    ["credit binds", 100n, 60n, null, 60n, "credit"],
    ["nothing available", 100n, 0n, null, 0n, "credit"],
    ["blocked: owes more than its credit", 100n, -1n, 500n, 0n, "blocked"],
    ["key limit binds", 100n, 1000n, 30n, 30n, "key_limit"],
    ["key limit used up (negative remaining)", 100n, 1000n, -5n, 0n, "key_limit"],
    ["key limit binds below credit", 100n, 60n, 40n, 40n, "key_limit"],
    ["credit binds below key limit", 100n, 40n, 60n, 40n, "credit"],
    ["exactly the limit", 100n, 100n, 100n, 100n, null],
  ];
  it.each(rows)("%s", (_label, asked, available, key, granted, limitedBy) => {
    expect(decideGrant(asked, available, key)).toEqual({ grantedNano: granted, limitedBy });
  });
});

describe("consumeHold", () => {
  it.each([
    ["within the hold", 100n, 30n, 30n, 70n],
    ["all of it", 100n, 100n, 100n, 0n],
    ["past the hold: covers only what it held", 100n, 130n, 100n, 0n],
    ["nothing used", 100n, 0n, 0n, 100n],
  ])("%s", (_l, held, used, covered, remaining) => expect(consumeHold(held, used)).toEqual({ coveredNano: covered, remainingNano: remaining }));
});

describe("fromCredits", () => {
  it.each([
    ["enough credit", 100n, 1000n, 0n, 100n],
    ["partial", 100n, 60n, 0n, 60n],
    ["new holds come first", 100n, 150n, 80n, 70n],
    ["holds take everything", 100n, 80n, 80n, 0n],
    ["negative spendable", 100n, -10n, 0n, 0n],
  ])("%s", (_l, usage, spendable, holds, expected) => expect(fromCredits(usage, spendable, holds)).toBe(expected));
});

describe("splitGroups", () => {
  const groups = [
    { id: "a", costNano: 100n, feeNano: 5n },
    { id: "b", costNano: 50n, feeNano: 3n },
  ];
  it.each([
    [
      "all from credit",
      150n,
      [
        [95n, 5n, 0n, 0n],
        [47n, 3n, 0n, 0n],
      ],
    ],
    [
      "nothing from credit",
      0n,
      [
        [0n, 0n, 95n, 5n],
        [0n, 0n, 47n, 3n],
      ],
    ],
    [
      "credit runs out inside the first provider share",
      40n,
      [
        [40n, 0n, 55n, 5n],
        [0n, 0n, 47n, 3n],
      ],
    ],
    [
      "credit runs out inside the first fee",
      97n,
      [
        [95n, 2n, 0n, 3n],
        [0n, 0n, 47n, 3n],
      ],
    ],
    [
      "credit runs out in the second group",
      120n,
      [
        [95n, 5n, 0n, 0n],
        [20n, 0n, 27n, 3n],
      ],
    ],
  ] as const)("%s", (_l, credit, expected) => {
    const legs = splitGroups(groups, credit);
    expect(legs.map((l) => [l.creditsToProviderNano, l.creditsToPlatformNano, l.receivableToProviderNano, l.receivableToPlatformNano])).toEqual(expected);
    legs.forEach((l, i) => {
      expect(l.creditsToProviderNano + l.creditsToPlatformNano + l.receivableToProviderNano + l.receivableToPlatformNano).toBe(groups[i]!.costNano);
      expect(l.creditsToPlatformNano + l.receivableToPlatformNano).toBe(groups[i]!.feeNano);
    });
  });
});

describe("eventFingerprint", () => {
  const e: UsageEvent = {
    id: "0190a000-0000-7000-8000-000000000001",
    reservationId: null,
    keyId: "0190a000-0000-7000-8000-000000000002",
    listingId: "0190a000-0000-7000-8000-000000000003",
    inputTokens: 10,
    outputTokens: 20,
    cachedInputTokens: 0,
    startedAt: at(-10),
    firstTokenAt: null,
    endedAt: at(-1),
    status: "ok",
    estimated: false,
    upstreamStatus: 200,
  };
  it("is the same for the same fields (whatever the id's case) and differs when any field differs", () => {
    expect(eventFingerprint({ ...e, id: e.id.toUpperCase() })).toBe(eventFingerprint(e));
    const variants: Partial<UsageEvent>[] = [
      { outputTokens: 21 },
      { cachedInputTokens: 1 },
      { startedAt: at(-9) },
      { firstTokenAt: at(-5) },
      { endedAt: at(-2) },
      { status: "error" },
      { estimated: true },
      { upstreamStatus: null },
      { reservationId: "0190a000-0000-7000-8000-000000000004" },
      { listingId: "0190a000-0000-7000-8000-000000000005" },
      { finishReason: "stop" },
      { finishReason: "length" },
      { energyJoules: 12.5 },
      { energyJoules: 0 },
      { finishReason: "stop", energyJoules: 12.5 },
    ];
    const prints = new Set([eventFingerprint(e), ...variants.map((v) => eventFingerprint({ ...e, ...v }))]);
    expect(prints.size).toBe(variants.length + 1);
  });

  it("leaves an event without a finish reason or energy with the fingerprint it had before they existed", () => {
    // The canonical form before issue #21, digested here independently: events settled then stay duplicates when resent.
    const before = [e.id, "", e.keyId, e.listingId, 10, 20, 0, e.startedAt.getTime(), "", e.endedAt.getTime(), "ok", 0, 200].join("|");
    const h = createHash("md5").update(before).digest("hex");
    const expected = `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
    expect(eventFingerprint(e)).toBe(expected);
    expect(eventFingerprint({ ...e, finishReason: null, energyJoules: null })).toBe(expected);
    expect(eventFingerprint({ ...e, finishReason: undefined, energyJoules: undefined })).toBe(expected);
  });
});
