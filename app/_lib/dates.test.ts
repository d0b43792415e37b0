import { describe, expect, it } from "vitest";
import { localInput, utcDayEnd, utcDayStart, utcFromInput, utcMonth } from "./dates";

describe("utcDayStart and utcDayEnd", () => {
  const rows: [string, string, string | null, string | null][] = [
    ["a day", "2026-12-05", "2026-12-05T00:00:00.000Z", "2026-12-06T00:00:00.000Z"],
    ["the last day of a year", "2026-12-31", "2026-12-31T00:00:00.000Z", "2027-01-01T00:00:00.000Z"],
    ["a leap day", "2028-02-29", "2028-02-29T00:00:00.000Z", "2028-03-01T00:00:00.000Z"],
    ["an empty input", "", null, null],
    ["a month only", "2026-12", null, null],
    ["a time appended", "2026-12-05T10:00", null, null],
    ["month 13", "2026-13-01", null, null],
    ["not a date", "yesterday", null, null],
  ];
  it.each(rows)("%s", (_label, day, start, end) => {
    expect(utcDayStart(day)?.toISOString() ?? null).toBe(start);
    expect(utcDayEnd(day)?.toISOString() ?? null).toBe(end);
  });
});

describe("utcMonth", () => {
  const rows: [string, string, [string, string] | null][] = [
    ["a month", "2026-03", ["2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"]],
    ["December ends in the next year", "2026-12", ["2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"]],
    ["month 00", "2026-00", null],
    ["month 13", "2026-13", null],
    ["a day", "2026-03-01", null],
    ["empty", "", null],
  ];
  it.each(rows)("%s", (_label, month, expected) => {
    const r = utcMonth(month);
    expect(r && [r.from.toISOString(), r.to.toISOString()]).toEqual(expected);
  });
});

describe("datetime-local values", () => {
  it("utcFromInput reads the value as UTC", () => {
    expect(utcFromInput("2026-12-05T14:30").toISOString()).toBe("2026-12-05T14:30:00.000Z");
  });
  it("localInput round-trips through the browser's reading of a datetime-local value (local time)", () => {
    const at = new Date("2026-12-05T14:30:00.000Z");
    expect(new Date(localInput(at)).getTime()).toBe(at.getTime());
  });
});
