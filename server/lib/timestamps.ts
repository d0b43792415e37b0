/**
 * Timestamps from raw queries: drizzle hands node-postgres results of `db.execute` back with
 * date types as PostgreSQL's text ("2026-05-01 15:35:52.123456+00"), which `new Date` does not
 * read as UTC until the space and the short offset are made ISO. Dates pass through.
 */
export function parseTimestamp(v: unknown): Date {
  if (v instanceof Date) return v;
  return new Date(
    String(v)
      .replace(" ", "T")
      .replace(/([+-]\d\d)$/, "$1:00"),
  );
}

/** parseTimestamp, with SQL null (or a missing column) as null. */
export const parseTimestampOrNull = (v: unknown): Date | null => (v === null || v === undefined ? null : parseTimestamp(v));
