import { describe, expect, it } from "vitest";
import { pgArray } from "./pg-array";

describe("pgArray", () => {
  it.each([
    ["empty", [], "{}"],
    ["numbers and bigints unquoted", [1, 2n, -3n], "{1,2,-3}"],
    ["null and undefined are NULL", [null, undefined, "x"], '{NULL,NULL,"x"}'],
    ["the word NULL stays text", ["NULL"], '{"NULL"}'],
    ["quotes and backslashes are escaped", ['a"b', "c\\d"], '{"a\\"b","c\\\\d"}'],
    ["commas and braces are quoted", ["a,b", "{c}"], '{"a,b","{c}"}'],
    ["dates as ISO 8601", [new Date("2026-01-02T03:04:05.006Z")], '{"2026-01-02T03:04:05.006Z"}'],
  ])("%s", (_label, values, literal) => {
    expect(pgArray(values)).toBe(literal);
  });
});
