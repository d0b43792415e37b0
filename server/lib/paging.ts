/**
 * Keyset paging, the one way lists are paged: a page asks for one row more than it shows
 * (`pageFetchSize`), and only when that extra row came back is there a next page, whose
 * cursor is the last shown row's key (`keysetPage`). Cursors that carry more than an id
 * (a time with its microseconds, an id) travel as one opaque string (`encodeCursor`).
 */

/** Rows to fetch for a page of `limit`: one more, to learn whether another page follows. */
export const pageFetchSize = (limit: number): number => limit + 1;

/** A requested page size within [1, max], `dflt` when none was asked for. */
export function pageLimit(limit: number | null | undefined, dflt: number, max: number): number {
  return Math.min(Math.max(limit ?? dflt, 1), max);
}

/**
 * The page out of rows fetched with pageFetchSize(limit): at most `limit` rows mapped by
 * `map`, and the cursor of the last one shown (by `cursorOf`, from its row) when more follow.
 */
export function keysetPage<R, T = R>(
  found: readonly R[],
  limit: number,
  cursorOf: (last: R) => string,
  map: (row: R) => T = (row) => row as unknown as T,
): { items: T[]; nextCursor: string | null } {
  const shown = found.slice(0, limit);
  const last = shown[shown.length - 1];
  return { items: shown.map(map), nextCursor: found.length > limit && last !== undefined ? cursorOf(last) : null };
}

/** An opaque cursor for a key of several parts (base64url of their JSON). */
export function encodeCursor(parts: readonly string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString("base64url");
}

/** The `arity` parts of a cursor from encodeCursor; null when it is not one. */
export function decodeCursor(s: string, arity: number): string[] | null {
  try {
    const v = JSON.parse(Buffer.from(s, "base64url").toString("utf8")) as unknown;
    if (!Array.isArray(v) || v.length !== arity || !v.every((x) => typeof x === "string")) return null;
    return v as string[];
  } catch {
    return null;
  }
}
