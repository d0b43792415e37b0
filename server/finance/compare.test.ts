import { describe, expect, it } from "vitest";
import { compareFigures } from "./compare";

const m = (entries: [string, bigint][]) => new Map(entries);

describe("compareFigures", () => {
  it.each([
    ["equal figures: no differences", m([["a", 5n]]), m([["a", 5n]]), []],
    ["both empty", m([]), m([]), []],
    ["a zero on one side equals a missing key", m([["a", 0n]]), m([]), []],
    ["ledger short by 3", m([["a", 10n]]), m([["a", 7n]]), [{ key: "a", expectedNano: 10n, actualNano: 7n, differenceNano: -3n }]],
    ["a posting without a source", m([]), m([["x", 4n]]), [{ key: "x", expectedNano: 0n, actualNano: 4n, differenceNano: 4n, note: "only in the ledger" }]],
    ["a source never posted", m([["y", 4n]]), m([]), [{ key: "y", expectedNano: 4n, actualNano: 0n, differenceNano: -4n, note: "missing from the ledger" }]],
  ])("%s", (_label, expected, actual, diffs) => {
    expect(compareFigures(expected, actual)).toEqual(diffs);
  });

  it("lists differences in key order", () => {
    expect(
      compareFigures(
        m([
          ["b", 1n],
          ["a", 1n],
        ]),
        m([]),
      ).map((d) => d.key),
    ).toEqual(["a", "b"]);
  });
});
