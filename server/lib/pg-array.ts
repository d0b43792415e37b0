/**
 * A PostgreSQL array literal ('{a,"b c",NULL}') for one query parameter, so thousands of
 * rows travel as a few parameters to `unnest($1::uuid[], $2::int8[], …)` in one round trip.
 * Text and dates are quoted (so text may hold commas, quotes, braces or the word NULL); null is NULL.
 */
export function pgArray(values: readonly (string | bigint | number | boolean | Date | null | undefined)[]): string {
  const parts = values.map((v) => {
    if (v === null || v === undefined) return "NULL";
    if (typeof v === "bigint" || typeof v === "number") return String(v);
    const text = v instanceof Date ? v.toISOString() : String(v);
    // Most values (ids, enums, timestamps) hold neither character: no escaping pass for them.
    if (!text.includes('"') && !text.includes("\\")) return `"${text}"`;
    return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`;
  });
  return `{${parts.join(",")}}`;
}

/** An ILIKE pattern matching `q` anywhere, with LIKE's own characters (\ % _) taken literally. */
export function likePattern(q: string): string {
  return `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}
