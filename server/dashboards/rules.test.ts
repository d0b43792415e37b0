import { describe, expect, it } from "vitest";
import { burnRatePerDayNano, daysOfCreditLeft, decodeCursor, encodeCursor, isTimeZone, usageEnergy } from "./rules";

describe("burnRatePerDayNano", () => {
  it.each([
    { label: "even split", spend: 7_000n, days: 7, burn: 1_000n },
    { label: "half rounds to even (down)", spend: 7n * 2n + 7n / 2n, days: 7, burn: 2n },
    { label: "3.5 rounds to even (up)", spend: 49n / 2n + 1n, days: 7, burn: 4n },
    { label: "nothing spent", spend: 0n, days: 7, burn: 0n },
  ])("$label", ({ spend, days, burn }) => {
    expect(burnRatePerDayNano(spend, days)).toBe(burn);
  });
  it("refuses zero days", () => expect(() => burnRatePerDayNano(1n, 0)).toThrow(RangeError));
});

describe("daysOfCreditLeft", () => {
  it.each([
    { label: "no burn: unbounded", available: 5_000n, burn: 0n, days: null },
    { label: "nothing left", available: -3n, burn: 10n, days: 0 },
    { label: "exact", available: 30_000n, burn: 1_000n, days: 30 },
    { label: "rounds down to a tenth", available: 10_999n, burn: 1_000n, days: 10.9 },
  ])("$label", ({ available, burn, days }) => {
    expect(daysOfCreditLeft(available, burn)).toBe(days);
  });
});

describe("usageEnergy", () => {
  it.each([
    { label: "1M tokens at 1 tok/J is 277.8 Wh", tokens: 1e6, tpw: 1, grid: 400, wh: 277.777, g: 111.111 },
    { label: "no grid figure: Wh only", tokens: 3600, tpw: 1, grid: null, wh: 1, g: null },
    { label: "undeclared", tokens: 3600, tpw: null, grid: 400, wh: null, g: null },
  ])("$label", ({ tokens, tpw, grid, wh, g }) => {
    const e = usageEnergy(tokens, tpw, grid);
    if (wh === null) expect(e.wh).toBeNull();
    else expect(e.wh).toBeCloseTo(wh, 2);
    if (g === null) expect(e.gCo2).toBeNull();
    else expect(e.gCo2).toBeCloseTo(g, 2);
  });
});

describe("cursor", () => {
  it("round-trips", () => {
    const c = { startedAtText: "2026-11-23 16:00:00.123456+00", id: "0190f0a0-0000-7000-8000-000000000001" };
    expect(decodeCursor(encodeCursor(c))).toEqual({ startedAtText: c.startedAtText, id: c.id });
  });
  it.each(["", "not base64!", Buffer.from("[1,2]").toString("base64url"), Buffer.from('["x","y"]').toString("base64url")])("rejects %j", (s) => {
    expect(decodeCursor(s)).toBeNull();
  });
});

describe("isTimeZone", () => {
  it.each([
    ["UTC", true],
    ["Europe/Paris", true],
    ["Mars/Olympus", false],
    ["", false],
  ])("%s → %s", (tz, ok) => expect(isTimeZone(tz as string)).toBe(ok));
});
