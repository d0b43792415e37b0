import type { KeyLimitPeriod } from "../../db/schema/keys";

/** The start of lifetime: every day of spend counts. */
export const LIFETIME_START = new Date(0);

/**
 * Start of the spend-limit period containing `t`, on UTC calendar boundaries:
 * daily → 00:00 UTC that day; weekly → Monday 00:00 UTC (ISO weeks);
 * monthly → the 1st 00:00 UTC; lifetime → the epoch. The start is inclusive.
 */
export function periodStart(period: KeyLimitPeriod, t: Date): Date {
  const y = t.getUTCFullYear();
  const m = t.getUTCMonth();
  const d = t.getUTCDate();
  switch (period) {
    case "daily":
      return new Date(Date.UTC(y, m, d));
    case "weekly": {
      const sinceMonday = (t.getUTCDay() + 6) % 7;
      return new Date(Date.UTC(y, m, d - sinceMonday));
    }
    case "monthly":
      return new Date(Date.UTC(y, m, 1));
    case "lifetime":
      return LIFETIME_START;
  }
}

/** When the period containing `t` ends (the next period's start, exclusive); null for lifetime. */
export function periodEnd(period: KeyLimitPeriod, t: Date): Date | null {
  const s = periodStart(period, t);
  const y = s.getUTCFullYear();
  const m = s.getUTCMonth();
  const d = s.getUTCDate();
  switch (period) {
    case "daily":
      return new Date(Date.UTC(y, m, d + 1));
    case "weekly":
      return new Date(Date.UTC(y, m, d + 7));
    case "monthly":
      return new Date(Date.UTC(y, m + 1, 1));
    case "lifetime":
      return null;
  }
}

/** The UTC calendar day of `t` as `YYYY-MM-DD` (the key_spend_daily bucket). */
export function utcDay(t: Date): string {
  return t.toISOString().slice(0, 10);
}
