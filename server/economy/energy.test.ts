import { describe, expect, it } from "vitest";
import { efficiencyFigure, energyLines, energyVerdict, type EnergyHour, measuredTokensPerJoule, mergeEnergyHours, MIN_ENERGY_SAMPLE_TOKENS } from "./energy";

const hour = (eventTokens: number, eventJoules: number, reading: EnergyHour["reading"] = null): EnergyHour => ({ eventTokens, eventJoules, reading });

describe("mergeEnergyHours: events and meter readings", () => {
  it.each([
    ["no hours: nothing covered", [], { tokens: 0, joules: 0, hours: 0 }],
    ["events only", [hour(1_000, 500), hour(3_000, 1_000)], { tokens: 4_000, joules: 1_500, hours: 2 }],
    [
      "a reading replaces its hour's events (never counted twice)",
      [hour(1_000, 500, { tokens: 1_200, joules: 400 })],
      { tokens: 1_200, joules: 400, hours: 1 },
    ],
    [
      "mixed: one hour metered, one from events, one with neither (missing sample)",
      [hour(1_000, 500, { tokens: 2_000, joules: 1_000 }), hour(3_000, 1_000), hour(0, 0)],
      { tokens: 5_000, joules: 2_000, hours: 2 },
    ],
    ["a reading of zero joules is no figure: the events stand", [hour(1_000, 500, { tokens: 1_000, joules: 0 })], { tokens: 1_000, joules: 500, hours: 1 }],
    ["tokens without joules are not measured", [hour(1_000, 0)], { tokens: 0, joules: 0, hours: 0 }],
  ] as const)("%s", (_label, hours, expected) => {
    expect(mergeEnergyHours(hours)).toEqual(expected);
  });
});

describe("measuredTokensPerJoule", () => {
  it.each([
    ["2 000 tokens over 1 000 J", { tokens: 2_000, joules: 1_000 }, 2],
    ["no joules", { tokens: 2_000, joules: 0 }, null],
    ["no tokens", { tokens: 0, joules: 10 }, null],
  ])("%s", (_label, s, expected) => {
    expect(measuredTokensPerJoule(s)).toBe(expected);
  });
});

describe("energyVerdict: verified within ±10 % of declared over ≥ 1M tokens", () => {
  const M = MIN_ENERGY_SAMPLE_TOKENS;
  it.each([
    ["exactly declared", 4, M, 4, "verified"],
    ["10 % short, on the bound: verified", 3.6, M, 4, "verified"],
    ["just past 10 % short: over-declared", 3.59, M, 4, "over-declared"],
    ["half of declared: over-declared", 2, 5 * M, 4, "over-declared"],
    ["10 % better, on the bound: verified", 4.4, M, 4, "verified"],
    ["20 % better: under-declared", 4.8, M, 4, "under-declared"],
    ["one token short of the sample", 2, M - 1, 4, "insufficient-sample"],
    ["nothing measured", null, 0, 4, "not-measured"],
    ["measured but nothing declared", 3, M, null, "not-declared"],
  ] as const)("%s", (_label, measured, tokens, declared, expected) => {
    expect(energyVerdict(measured, tokens, declared)).toBe(expected);
  });
});

describe("efficiencyFigure: what 'most efficient' ranks by", () => {
  it.each([
    ["measured past the sample wins", 2, MIN_ENERGY_SAMPLE_TOKENS, 4, { tokensPerWatt: 2, basis: "measured" }],
    ["measured below the sample: declared", 2, 10, 4, { tokensPerWatt: 4, basis: "declared" }],
    ["neither", null, 0, null, { tokensPerWatt: null, basis: "declared" }],
  ] as const)("%s", (_label, measured, tokens, declared, expected) => {
    expect(efficiencyFigure(measured, tokens, declared)).toEqual(expected);
  });
});

describe("energyLines: measured and declared per line", () => {
  it("all declared: Wh from tokens per watt, gCO2 from the grid", () => {
    // 3 600 000 tokens at 1 token/J = 3 600 000 J = 1 000 Wh; 1 kWh × 400 g = 400 g
    expect(energyLines({ tokens: 3_600_000, measuredTokens: 0, measuredJoules: 0 }, 1, 400)).toEqual([
      { basis: "declared", tokens: 3_600_000, wh: 1_000, gCo2: 400 },
    ]);
  });
  it("mixed: the measured tokens by their joules, the rest declared", () => {
    expect(energyLines({ tokens: 10_000, measuredTokens: 4_000, measuredJoules: 7_200 }, 2, 100)).toEqual([
      { basis: "measured", tokens: 4_000, wh: 2, gCo2: 0.2 },
      { basis: "declared", tokens: 6_000, wh: 6_000 / 2 / 3600, gCo2: (6_000 / 2 / 3600 / 1000) * 100 },
    ]);
  });
  it("all measured on a listing that declares nothing and has no grid figure", () => {
    expect(energyLines({ tokens: 500, measuredTokens: 500, measuredJoules: 3600 }, null, null)).toEqual([
      { basis: "measured", tokens: 500, wh: 1, gCo2: null },
    ]);
  });
  it("declared nothing and measured nothing: a declared line with no energy (unknown, not zero)", () => {
    expect(energyLines({ tokens: 500, measuredTokens: 0, measuredJoules: 0 }, null, 300)).toEqual([{ basis: "declared", tokens: 500, wh: null, gCo2: null }]);
  });
  it("no usage: no lines", () => {
    expect(energyLines({ tokens: 0, measuredTokens: 0, measuredJoules: 0 }, 2, 100)).toEqual([]);
  });
});
