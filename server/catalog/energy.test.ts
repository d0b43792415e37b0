import { describe, expect, it } from "vitest";
import { gCo2Per1M, whPer1M } from "./energy";

describe("whPer1M = 1e6 / (tokens per watt · 3600)", () => {
  it.each([
    ["1 token per joule: 277.78 Wh", 1, 277.777_777_8],
    ["10 tokens per joule: 27.78 Wh", 10, 27.777_777_78],
    ["2.5 tokens per joule", 2.5, 111.111_111_1],
    ["1000 tokens per joule: 0.278 Wh", 1000, 0.277_777_78],
    ["0.5 tokens per joule", 0.5, 555.555_555_6],
  ])("%s", (_label, tpw, wh) => {
    expect(whPer1M(tpw)).toBeCloseTo(wh, 6);
  });
  it.each([
    ["zero", 0],
    ["negative", -1],
    ["not a number", Number.NaN],
    ["infinite", Infinity],
  ])("refuses %s", (_l, tpw) => {
    expect(() => whPer1M(tpw)).toThrow(RangeError);
  });
});

describe("gCo2Per1M = Wh/1000 · gCO2/kWh", () => {
  it.each([
    ["1 tpw at 400 g/kWh: 111.1 g", 1, 400, 111.111_111],
    ["10 tpw at 400 g/kWh: 11.1 g", 10, 400, 11.111_111],
    ["10 tpw at 50 g/kWh (hydro): 1.39 g", 10, 50, 1.388_889],
    ["zero-carbon grid", 10, 0, 0],
  ])("%s", (_label, tpw, grid, g) => {
    expect(gCo2Per1M(tpw, grid)).toBeCloseTo(g, 5);
  });
  it("refuses a negative intensity", () => expect(() => gCo2Per1M(1, -5)).toThrow(RangeError));
});
