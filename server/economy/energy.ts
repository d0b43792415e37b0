import { whPer1M } from "../catalog/energy";

/**
 * Measured energy: tokens per joule (= tokens per second per watt, the unit providers declare) from
 * what upstreams report per response (usage_events.energy_joules) and providers' hourly meter
 * readings (listing_energy_readings). Physical quantities, not money: plain numbers.
 */

/** Fewest tokens a measured figure is judged (verified / over-declared) and routed on over: 1M, per the issue. */
export const MIN_ENERGY_SAMPLE_TOKENS = 1_000_000;
/** How far measured may sit from declared and still verify it: ±10 % of the declared figure. */
export const ENERGY_TOLERANCE = 0.1;

/** One hour of a listing's energy: what its events reported, and a meter reading when there is one. */
export type EnergyHour = {
  /** Tokens (input + output + cached) of the hour's events that carried energy, and their joules. */
  eventTokens: number;
  eventJoules: number;
  reading: { tokens: number; joules: number } | null;
};

export type EnergySample = { tokens: number; joules: number; hours: number };

/**
 * Sums hours into one sample. A meter reading covers all of its hour's traffic, so it replaces
 * that hour's per-response figures (never adds to them: that would count the energy twice); hours
 * with neither are not covered. Readings or events with no tokens or no joules carry no figure.
 */
export function mergeEnergyHours(hours: readonly EnergyHour[]): EnergySample {
  let tokens = 0;
  let joules = 0;
  let covered = 0;
  for (const h of hours) {
    const use = h.reading && h.reading.tokens > 0 && h.reading.joules > 0 ? h.reading : { tokens: h.eventTokens, joules: h.eventJoules };
    if (!(use.tokens > 0 && use.joules > 0)) continue;
    tokens += use.tokens;
    joules += use.joules;
    covered += 1;
  }
  return { tokens, joules, hours: covered };
}

/** Measured tokens per joule of a sample; null when it holds no tokens or no joules. */
export function measuredTokensPerJoule(s: Pick<EnergySample, "tokens" | "joules">): number | null {
  return s.tokens > 0 && s.joules > 0 ? s.tokens / s.joules : null;
}

export type EnergyVerdict = "verified" | "over-declared" | "under-declared" | "insufficient-sample" | "not-measured" | "not-declared";

/**
 * Judges a declaration against measurement. With at least MIN_ENERGY_SAMPLE_TOKENS measured tokens:
 * "verified" when measured is within ±10 % of declared (bounds included); "over-declared" when
 * measured falls short of declared by more than 10 % of declared (measured < 0.9 · declared: the
 * declaration exceeds what was measured); "under-declared" when measured beats declared by more
 * than 10 % (not a fault, but not a verification either).
 */
export function energyVerdict(measuredTpj: number | null, sampleTokens: number, declaredTpw: number | null): EnergyVerdict {
  if (measuredTpj === null) return "not-measured";
  if (sampleTokens < MIN_ENERGY_SAMPLE_TOKENS) return "insufficient-sample";
  if (declaredTpw === null || !(declaredTpw > 0)) return "not-declared";
  // Compared in tenths so 0.9 and 1.1 carry no float error into the bounds.
  if (measuredTpj * 10 < declaredTpw * (10 - ENERGY_TOLERANCE * 10)) return "over-declared";
  if (measuredTpj * 10 > declaredTpw * (10 + ENERGY_TOLERANCE * 10)) return "under-declared";
  return "verified";
}

/** The figure "most efficient" ranks a listing by: measured when its sample suffices, else declared (null when neither). */
export function efficiencyFigure(
  measuredTpj: number | null,
  sampleTokens: number,
  declaredTpw: number | null,
): { tokensPerWatt: number | null; basis: "measured" | "declared" } {
  if (measuredTpj !== null && sampleTokens >= MIN_ENERGY_SAMPLE_TOKENS) return { tokensPerWatt: measuredTpj, basis: "measured" };
  return { tokensPerWatt: declaredTpw !== null && declaredTpw > 0 ? declaredTpw : null, basis: "declared" };
}

/** A line of an energy statement: energy and emissions of some usage, and whether they were measured or declared. */
export type EnergyLine = { basis: "measured" | "declared"; tokens: number; wh: number | null; gCo2: number | null };

const JOULES_PER_WH = 3600;

/**
 * Splits usage into what was measured (tokens of events that reported joules: Wh = joules / 3600)
 * and the rest, declared (Wh = tokens · whPer1M(declared) / 1e6; null when nothing is declared).
 * gCO2 = Wh / 1000 · grid gCO2/kWh (null without a grid intensity). Lines with no tokens are left out.
 */
export function energyLines(
  u: { tokens: number; measuredTokens: number; measuredJoules: number },
  declaredTpw: number | null,
  gridGPerKwh: number | null,
): EnergyLine[] {
  const co2 = (wh: number | null) => (wh === null || gridGPerKwh === null ? null : (wh / 1000) * gridGPerKwh);
  const lines: EnergyLine[] = [];
  const measuredTokens = Math.min(u.measuredTokens, u.tokens);
  if (measuredTokens > 0) {
    const wh = u.measuredJoules / JOULES_PER_WH;
    lines.push({ basis: "measured", tokens: measuredTokens, wh, gCo2: co2(wh) });
  }
  const declaredTokens = u.tokens - measuredTokens;
  if (declaredTokens > 0) {
    const wh = declaredTpw !== null && declaredTpw > 0 ? (declaredTokens * whPer1M(declaredTpw)) / 1e6 : null;
    lines.push({ basis: "declared", tokens: declaredTokens, wh, gCo2: co2(wh) });
  }
  return lines;
}
