import { describe, expect, it } from "vitest";
import { economyAsOfText, economyWindowParam } from "./economy-labels";

describe("economyWindowParam: the CPUT window a page's URL asks for", () => {
  const rows: [string, Record<string, string | string[] | undefined>, string][] = [
    ["absent: the default, 7 d", {}, "7d"],
    ["24 h", { window: "24h" }, "24h"],
    ["7 d", { window: "7d" }, "7d"],
    ["30 d", { window: "30d" }, "30d"],
    ["not a window: the default, not an error page", { window: "90d" }, "7d"],
    ["another case: the default", { window: "30D" }, "7d"],
    ["empty: the default", { window: "" }, "7d"],
    ["repeated (an array): the default", { window: ["24h", "30d"] }, "7d"],
    ["a name of Object.prototype: the default", { window: "constructor" }, "7d"],
  ];
  it.each(rows)("%s", (_label, sp, want) => expect(economyWindowParam(sp)).toBe(want));
});

describe("economyAsOfText: when the summary was computed, in UTC", () => {
  const rows: [string, Date | null, string][] = [
    ["never rebuilt (or no traffic anywhere)", null, "not computed yet"],
    ["a time of day, minutes kept, seconds dropped", new Date("2026-12-05T14:05:59.999Z"), "as of 14:05 UTC"],
    ["midnight", new Date("2026-12-05T00:00:00Z"), "as of 00:00 UTC"],
  ];
  it.each(rows)("%s", (_label, asOf, want) => expect(economyAsOfText(asOf)).toBe(want));
});
