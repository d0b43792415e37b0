import { DomainError } from "../errors";

/**
 * Months as finance closes them: calendar months in UTC, half-open [startsAt, endsAt).
 */
export type Month = { month: string; startsAt: Date; endsAt: Date };

const MONTH_RE = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** "2026-04" → its UTC bounds. Throws INVALID_INPUT naming `field` for anything else. */
export function parseMonth(text: string, field = "month"): Month {
  const m = MONTH_RE.exec(text.trim());
  if (!m) throw new DomainError("INVALID_INPUT", `${field}: must be a month as YYYY-MM`, field);
  const year = Number(m[1]);
  const month = Number(m[2]);
  if (year < 2000 || year > 2999) throw new DomainError("INVALID_INPUT", `${field}: year must be between 2000 and 2999`, field);
  return { month: `${m[1]}-${m[2]}`, startsAt: new Date(Date.UTC(year, month - 1, 1)), endsAt: new Date(Date.UTC(year, month, 1)) };
}

/** The month containing `at` (UTC). */
export function monthOf(at: Date): Month {
  return parseMonth(`${at.getUTCFullYear()}-${String(at.getUTCMonth() + 1).padStart(2, "0")}`);
}

/** A month may close only once it has ended: postings dated now must still be possible. */
export function canClose(month: Month, now: Date): boolean {
  return month.endsAt.getTime() <= now.getTime();
}
