import { and, eq, lt, or, type Column, type SQL } from "drizzle-orm";

/**
 * The SQL side of keyset paging (./paging.ts stays free of drizzle, so pure rules may page):
 * rows after the row `before` in newest-first (at, id) order, i.e. older, or as old with a
 * smaller id. `atOfBefore` reads that row's time (a subquery), so the cursor stays its id.
 */
export function olderThan(at: Column, id: Column, p: { before: string; atOfBefore: SQL }): SQL {
  return or(lt(at, p.atOfBefore), and(eq(at, p.atOfBefore), lt(id, p.before)))!;
}
