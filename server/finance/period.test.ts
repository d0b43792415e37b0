import { describe, expect, it } from "vitest";
import { canClose, monthOf, parseMonth } from "./period";

describe("parseMonth", () => {
  it.each([
    ["an ordinary month", "2026-04", "2026-04-01T00:00:00.000Z", "2026-05-01T00:00:00.000Z"],
    ["December rolls into the next year", "2025-12", "2025-12-01T00:00:00.000Z", "2026-01-01T00:00:00.000Z"],
    ["February of a leap year", "2028-02", "2028-02-01T00:00:00.000Z", "2028-03-01T00:00:00.000Z"],
    ["surrounding spaces are ignored", " 2026-01 ", "2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"],
  ])("%s", (_label, text, starts, ends) => {
    const m = parseMonth(text);
    expect(m.startsAt.toISOString()).toBe(starts);
    expect(m.endsAt.toISOString()).toBe(ends);
  });

  it.each([
    ["month 13", "2026-13"],
    ["month 00", "2026-00"],
    ["a day", "2026-04-01"],
    ["no dash", "202604"],
    ["a year far out", "3026-01"],
  ])("refuses %s, naming the field", (_label, text) => {
    expect(() => parseMonth(text, "period")).toThrow(/^period: /);
  });
});

describe("monthOf and canClose", () => {
  it.each([
    ["the first instant of a month", "2026-04-01T00:00:00.000Z", "2026-04"],
    ["the last millisecond of a month", "2026-04-30T23:59:59.999Z", "2026-04"],
  ])("%s", (_label, at, month) => {
    expect(monthOf(new Date(at)).month).toBe(month);
  });

  it.each([
    ["a month that has ended", "2026-03", "2026-04-01T00:00:00.000Z", true],
    ["the current month", "2026-04", "2026-04-15T00:00:00.000Z", false],
    ["a future month", "2026-06", "2026-04-15T00:00:00.000Z", false],
  ])("%s: %s", (_label, month, now, expected) => {
    expect(canClose(parseMonth(month), new Date(now))).toBe(expected);
  });
});
