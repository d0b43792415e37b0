/**
 * The browser's one reader of the dates people type or put in URLs. Days and months are UTC
 * (statements, periods and key expiries close in UTC); `datetime-local` inputs are either the
 * viewer's local time (filters) or UTC (prices, entered as they are listed).
 */

const DAY_MS = 86_400_000;

/** "2026-12-05" → 00:00 UTC that day; null for anything else (an empty input, a malformed URL parameter). */
export function utcDayStart(day: string): Date | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const at = Date.parse(`${day}T00:00:00Z`);
  return Number.isNaN(at) ? null : new Date(at);
}

/** "2026-12-05" → the first instant after that UTC day (an exclusive end); null like `utcDayStart`. */
export function utcDayEnd(day: string): Date | null {
  const start = utcDayStart(day);
  return start && new Date(start.getTime() + DAY_MS);
}

/** "2026-12" → that UTC month as [from, to); null for anything else. */
export function utcMonth(month: string): { from: Date; to: Date } | null {
  if (!/^\d{4}-\d{2}$/.test(month)) return null;
  const [y, m] = month.split("-").map(Number) as [number, number];
  if (m < 1 || m > 12) return null;
  return { from: new Date(Date.UTC(y, m - 1, 1)), to: new Date(Date.UTC(y, m, 1)) };
}

/** A `datetime-local` value read as UTC ("2026-12-05T14:30" → 14:30 UTC). */
export function utcFromInput(value: string): Date {
  return new Date(`${value}Z`);
}

/** An instant as a `datetime-local` value in the viewer's time zone. */
export function localInput(d: Date): string {
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}
