import { divRoundHalfEven } from "../ledger/money";
import { whPer1M } from "../catalog/energy";
import { decodeCursor as decodeKey, encodeCursor as encodeKey } from "../lib/paging";

/** Dashboard arithmetic with no I/O: burn rate, runway, energy of usage and paging cursors. */

/** Average daily spend over `days` days, nano-USD, rounded half-even. Throws RangeError unless days > 0. */
export function burnRatePerDayNano(spendNano: bigint, days: number): bigint {
  if (!Number.isInteger(days) || days <= 0) throw new RangeError("days must be a positive integer");
  return divRoundHalfEven(spendNano, BigInt(days));
}

/**
 * Days the available balance lasts at the burn rate, to one decimal (rounded down, so it
 * never promises more): null when nothing is being spent, 0 when nothing is left.
 */
export function daysOfCreditLeft(availableNano: bigint, burnPerDayNano: bigint): number | null {
  if (burnPerDayNano <= 0n) return null;
  if (availableNano <= 0n) return 0;
  return Number((availableNano * 10n) / burnPerDayNano) / 10;
}

/**
 * Energy of `tokens` processed (input + output + cached input) on a listing that declares
 * `tokensPerWatt` (tokens per joule): Wh = tokens · whPer1M / 1e6; gCO2 = Wh / 1000 · grid gCO2/kWh.
 * Nulls where the listing declares nothing.
 */
export function usageEnergy(tokens: number, tokensPerWatt: number | null, gridGPerKwh: number | null): { wh: number | null; gCo2: number | null } {
  if (tokensPerWatt === null || !(tokensPerWatt > 0)) return { wh: null, gCo2: null };
  const wh = (tokens * whPer1M(tokensPerWatt)) / 1e6;
  return { wh, gCo2: gridGPerKwh === null ? null : (wh / 1000) * gridGPerKwh };
}

/** A keyset position: the last row's start time as PostgreSQL text (keeps its µs, which a Date drops) and id. */
export type ActivityCursor = { startedAtText: string; id: string };

/** An opaque cursor string for an ActivityCursor. */
export function encodeCursor(c: ActivityCursor): string {
  return encodeKey([c.startedAtText, c.id]);
}

/** Decodes a cursor from encodeCursor; null when it is not one. */
export function decodeCursor(s: string): ActivityCursor | null {
  const parts = decodeKey(s, 2);
  if (!parts) return null;
  const [t, id] = parts as [string, string];
  if (Number.isNaN(new Date(t).getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) return null;
  return { startedAtText: t, id };
}

/** True for an IANA time zone name this runtime knows ("Europe/Paris", "UTC"). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
