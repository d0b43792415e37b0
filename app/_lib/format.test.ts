import { describe, expect, it } from "vitest";
import { formatDuration } from "./format";

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
