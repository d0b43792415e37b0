"use client";

import { dateTimeOptions } from "@/app/_lib/format";

// The app's one format (app/_lib/format.ts), in the viewer's zone; UTC with seconds on hover.
const local = new Intl.DateTimeFormat("en-GB", dateTimeOptions);
const utc = new Intl.DateTimeFormat("en-GB", { ...dateTimeOptions, second: "2-digit", timeZone: "UTC" });

/** The viewer's time zone (IANA name), for queries that group by the viewer's days. */
export function viewerTimeZone(): string {
  return Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
}

/** Formats an instant in UTC, for tooltips beside local times. */
export function utcText(d: Date): string {
  return utc.format(d);
}

/** An instant in the viewer's time zone, with UTC in the tooltip. */
export function LocalTime({ date, format = local }: { date: Date; format?: Intl.DateTimeFormat }) {
  return (
    <time dateTime={date.toISOString()} title={utcText(date)}>
      {format.format(date)}
    </time>
  );
}
