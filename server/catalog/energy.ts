/**
 * Energy and efficiency figures derived from a provider's declared tokens per
 * watt (tokens per second per watt = tokens per joule). Physical quantities and
 * ratios for comparison, not money: plain numbers are fine here.
 */

const JOULES_PER_WH = 3600;

/** Watt-hours to produce 1M tokens: 1e6 / (tpw · 3600). Throws RangeError unless tpw > 0. */
export function whPer1M(tokensPerWatt: number): number {
  if (!(tokensPerWatt > 0) || !Number.isFinite(tokensPerWatt)) throw new RangeError("tokens per watt must be a positive number");
  return 1e6 / (tokensPerWatt * JOULES_PER_WH);
}

/** Grams of CO2 for 1M tokens: Wh/1000 · gCO2/kWh. Throws RangeError on a negative intensity. */
export function gCo2Per1M(tokensPerWatt: number, gridGPerKwh: number): number {
  if (!(gridGPerKwh >= 0) || !Number.isFinite(gridGPerKwh)) throw new RangeError("grid carbon intensity must be zero or more");
  return (whPer1M(tokensPerWatt) / 1000) * gridGPerKwh;
}
