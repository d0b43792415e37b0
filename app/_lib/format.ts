import { formatPricePer1k, formatPricePer1M, pricePer1MDecimal } from "@/server/catalog/pricing";
import { formatUsd, usdDecimal } from "@/server/ledger/money";

// The money formatters the app uses, from the one home of each money rule: pages import them from here.
export { formatPricePer1k, formatPricePer1M, formatUsd, pricePer1MDecimal, usdDecimal };

const sig3 = new Intl.NumberFormat("en-US", { maximumSignificantDigits: 3 });
const compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumSignificantDigits: 3 });
const whole = new Intl.NumberFormat("en-US");

/** A physical figure to three significant digits ("—" when not declared). */
export function formatFigure(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : sig3.format(n);
}

/** Large counts the short way: 5 714 285 → "5.71M"; unbounded (null) → "∞". */
export function formatCompact(n: number | null): string {
  return n === null ? "∞" : compact.format(n);
}

export function formatTokens(n: number): string {
  return n >= 1024 && n % 1024 === 0 ? `${whole.format(n / 1024)}k` : whole.format(n);
}

/**
 * The one date-time format of the app: "4 Dec 2026, 14:05 UTC" (day month year, 24-hour, the
 * zone named). In UTC unless a zone is given (pages rendered on the server do not know the
 * viewer's; LocalTime shows the viewer's zone in the same format).
 */
export const dateTimeOptions: Intl.DateTimeFormatOptions = {
  day: "numeric",
  month: "short",
  year: "numeric",
  hour: "2-digit",
  minute: "2-digit",
  hourCycle: "h23",
  timeZoneName: "short",
};

export function formatDateTime(d: Date | string, timeZone = "UTC"): string {
  return new Intl.DateTimeFormat("en-GB", { ...dateTimeOptions, timeZone }).format(new Date(d));
}

/** "4 Dec 2026" (UTC unless a zone is given). */
export function formatDate(d: Date | string, timeZone = "UTC"): string {
  return new Intl.DateTimeFormat("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone }).format(new Date(d));
}

/**
 * A chart's money axis with one precision for every tick: enough decimals to tell ticks about
 * max/4 apart, at least 2 ("$0.0075, $0.0150 …", never "$0.0075, $0.02").
 */
export function moneyAxis(max: number): (v: number) => string {
  const step = max > 0 && Number.isFinite(max) ? max / 4 : 1;
  const decimals = Math.min(9, Math.max(2, Math.ceil(-Math.log10(step)) + 1));
  return (v: number) => `$${v.toFixed(decimals)}`;
}

/** Dollars for people: as many decimals as the value needs (at least 2). */
export const usd = (nano: bigint) => formatUsd(nano);
export const usdFromCents = (cents: number) => formatUsd(BigInt(cents) * 10_000_000n);

/** Finance and console tables: the one format, in UTC (months close in UTC). */
export const dateTime = (d: Date | string) => formatDateTime(d);

/** How long credit lasts, the way a person would say it: "under a day", "12 days", "over 3 years". */
export function formatDuration(days: number | null): string {
  if (days === null) return "—";
  if (days < 1) return "under a day";
  if (days < 730) return `${whole.format(Math.floor(days))} ${Math.floor(days) === 1 ? "day" : "days"}`;
  if (days >= 36_500) return "over 100 years";
  return `over ${whole.format(Math.floor(days / 365))} years`;
}
