import { formatPricePer1k, formatPricePer1M } from "@/server/catalog/pricing";
import { formatUsd } from "@/server/ledger/money";

export { formatPricePer1k, formatPricePer1M, formatUsd };

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

export function formatDateTime(d: Date): string {
  return d.toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" }) + " UTC";
}

/** Dollars for people: as many decimals as the value needs (at least 2). */
export const usd = (nano: bigint) => formatUsd(nano);
export const usdFromCents = (cents: number) => formatUsd(BigInt(cents) * 10_000_000n);

export function dateTime(d: Date | string): string {
  return new Date(d).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** How long credit lasts, the way a person would say it: "under a day", "12 days", "over 3 years". */
export function formatDuration(days: number | null): string {
  if (days === null) return "—";
  if (days < 1) return "under a day";
  if (days < 730) return `${whole.format(Math.floor(days))} ${Math.floor(days) === 1 ? "day" : "days"}`;
  if (days >= 36_500) return "over 100 years";
  return `over ${whole.format(Math.floor(days / 365))} years`;
}
