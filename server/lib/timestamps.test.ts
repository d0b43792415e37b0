import { describe, expect, it } from "vitest";
import { parseTimestamp, parseTimestampOrNull } from "./timestamps";

describe("parseTimestamp", () => {
  it.each([
    ["PostgreSQL text with a short offset", "2026-05-01 15:35:52.123+00", "2026-05-01T15:35:52.123Z"],
    ["microseconds are cut to milliseconds", "2026-05-01 15:35:52.123456+00", "2026-05-01T15:35:52.123Z"],
    ["a non-UTC offset", "2026-05-01 17:35:52+02", "2026-05-01T15:35:52.000Z"],
    ["ISO text", "2026-05-01T15:35:52.000Z", "2026-05-01T15:35:52.000Z"],
  ])("%s", (_label, text, iso) => {
    expect(parseTimestamp(text).toISOString()).toBe(iso);
  });

  it("a Date passes through", () => {
    const d = new Date("2026-01-01T00:00:00Z");
    expect(parseTimestamp(d)).toBe(d);
  });

  it("null stays null in the nullable form", () => {
    expect(parseTimestampOrNull(null)).toBeNull();
    expect(parseTimestampOrNull(undefined)).toBeNull();
    expect(parseTimestampOrNull("2026-05-01 00:00:00+00")?.toISOString()).toBe("2026-05-01T00:00:00.000Z");
  });
});
