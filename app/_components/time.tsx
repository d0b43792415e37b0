"use client";

const local = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const utc = new Intl.DateTimeFormat("en-GB", { dateStyle: "medium", timeStyle: "long", timeZone: "UTC" });

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
