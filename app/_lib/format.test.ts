import { describe, expect, it } from "vitest";
import { formatDate, formatDateTime, formatDuration, moneyAxis } from "./format";

describe("formatDuration (credit left at the current burn rate)", () => {
  it.each([
    ["nothing spent lately", null, "—"],
    ["no credit", 0, "under a day"],
    ["hours", 0.4, "under a day"],
    ["one day", 1.9, "1 day"],
    ["days", 12.5, "12 days"],
    ["just under two years", 729.9, "729 days"],
    ["two years", 730, "over 2 years"],
    ["tiny spend", 12_000_000, "over 100 years"],
  ])("%s", (_label, days, expected) => {
    expect(formatDuration(days)).toBe(expected);
  });
});

describe("formatDateTime: one format everywhere, 24-hour, zone named", () => {
  it.each([
    ["afternoon in UTC", "2026-12-04T14:05:09Z", undefined, "4 Dec 2026, 14:05 UTC"],
    ["midnight is 00, not 12 AM", "2026-12-04T00:30:00Z", undefined, "4 Dec 2026, 00:30 UTC"],
    ["in the viewer's zone", "2026-12-04T14:05:00Z", "Asia/Kolkata", "4 Dec 2026, 19:35 GMT+5:30"],
  ])("%s", (_label, iso, zone, expected) => {
    expect(formatDateTime(new Date(iso), zone)).toBe(expected);
  });
  it("a date alone", () => expect(formatDate("2026-12-04T23:59:59Z")).toBe("4 Dec 2026"));
});

describe("moneyAxis: every tick of an axis with the same decimals", () => {
  it.each([
    ["cents", 50, [0, 12.5, 50], ["$0.00", "$12.50", "$50.00"]],
    ["fractions of a cent", 0.03, [0, 0.0075, 0.015, 0.03], ["$0.0000", "$0.0075", "$0.0150", "$0.0300"]],
    ["a few dollars", 4, [0, 1, 2.5], ["$0.00", "$1.00", "$2.50"]],
    ["empty chart", 0, [0], ["$0.00"]],
  ])("%s", (_label, max, ticks, expected) => {
    expect(ticks.map(moneyAxis(max))).toEqual(expected);
  });
});
