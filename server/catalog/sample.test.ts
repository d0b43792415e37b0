import { describe, expect, it } from "vitest";
import { MIN_MEASURED_SAMPLE, measuredFigure } from "./sample";

describe("measuredFigure: medians only past the minimum sample", () => {
  it.each([
    ["one request (the 7 ms call) is not a figure", 1310, 1, null],
    ["one short of the minimum is not a figure", 120, MIN_MEASURED_SAMPLE - 1, null],
    ["exactly the minimum is shown", 120, MIN_MEASURED_SAMPLE, 120],
    ["well past the minimum is shown", 95.5, 5_000, 95.5],
    ["no median (nothing measured) stays empty", null, 5_000, null],
  ])("%s", (_label, median, sample, expected) => {
    expect(measuredFigure(median, sample)).toBe(expected);
  });
});
