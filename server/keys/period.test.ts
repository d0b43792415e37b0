import { describe, expect, it } from "vitest";
import type { KeyLimitPeriod } from "../../db/schema/keys";
import { periodEnd, periodStart, utcDay } from "./period";

const at = (iso: string) => new Date(iso);

describe("periodStart / periodEnd on UTC calendar boundaries", () => {
  const rows: [string, KeyLimitPeriod, string, string, string | null][] = [
    ["daily, mid-day", "daily", "2026-03-15T13:45:00Z", "2026-03-15T00:00:00.000Z", "2026-03-16T00:00:00.000Z"],
    ["daily, exactly midnight belongs to the new day", "daily", "2026-03-15T00:00:00Z", "2026-03-15T00:00:00.000Z", "2026-03-16T00:00:00.000Z"],
    ["daily, last millisecond of the day", "daily", "2026-03-15T23:59:59.999Z", "2026-03-15T00:00:00.000Z", "2026-03-16T00:00:00.000Z"],
    ["daily, a local-time offset does not matter", "daily", "2026-03-15T23:30:00-05:00", "2026-03-16T00:00:00.000Z", "2026-03-17T00:00:00.000Z"],
    ["daily, year end", "daily", "2025-12-31T23:00:00Z", "2025-12-31T00:00:00.000Z", "2026-01-01T00:00:00.000Z"],
    ["weekly, a Wednesday → that Monday", "weekly", "2026-03-18T10:00:00Z", "2026-03-16T00:00:00.000Z", "2026-03-23T00:00:00.000Z"],
    ["weekly, Monday 00:00 starts a week", "weekly", "2026-03-16T00:00:00Z", "2026-03-16T00:00:00.000Z", "2026-03-23T00:00:00.000Z"],
    ["weekly, Sunday 23:59 is the end of the week", "weekly", "2026-03-22T23:59:59Z", "2026-03-16T00:00:00.000Z", "2026-03-23T00:00:00.000Z"],
    ["weekly, across a month and year", "weekly", "2026-01-01T08:00:00Z", "2025-12-29T00:00:00.000Z", "2026-01-05T00:00:00.000Z"],
    ["monthly, mid-month", "monthly", "2026-03-15T13:45:00Z", "2026-03-01T00:00:00.000Z", "2026-04-01T00:00:00.000Z"],
    ["monthly, the 1st at 00:00", "monthly", "2026-04-01T00:00:00Z", "2026-04-01T00:00:00.000Z", "2026-05-01T00:00:00.000Z"],
    ["monthly, last instant of February (leap year)", "monthly", "2028-02-29T23:59:59.999Z", "2028-02-01T00:00:00.000Z", "2028-03-01T00:00:00.000Z"],
    ["monthly, December rolls into next year", "monthly", "2026-12-31T12:00:00Z", "2026-12-01T00:00:00.000Z", "2027-01-01T00:00:00.000Z"],
    ["lifetime starts at the epoch and never ends", "lifetime", "2026-03-15T13:45:00Z", "1970-01-01T00:00:00.000Z", null],
  ];
  it.each(rows)("%s", (_label, period, t, start, end) => {
    expect(periodStart(period, at(t)).toISOString()).toBe(start);
    expect(periodEnd(period, at(t))?.toISOString() ?? null).toBe(end);
  });
});

describe("utcDay", () => {
  it.each([
    ["UTC date of an instant", "2026-03-15T23:59:59Z", "2026-03-15"],
    ["an offset time on the next UTC day", "2026-03-15T20:00:00-05:00", "2026-03-16"],
  ])("%s", (_label, t, day) => {
    expect(utcDay(at(t))).toBe(day);
  });
});
