import { CATALOG_REFRESH_MAX_MS } from "../contract/catalog";

/**
 * The one rule for which price a listing charges at an instant, for every side that prices:
 * the catalog's pages, the proxy's quotes and holds, and settlement (in SQL, ./price-in-force-sql.ts,
 * tested to agree). A price version is in force from its effectiveFrom (inclusive) until the next
 * version's effectiveFrom (exclusive); before the first version there is no price.
 */

export type Dated = { effectiveFrom: Date };

/** The version in force at `t` (epoch ms): the latest effectiveFrom <= t, versions in any order; null before the first. */
export function priceInForce<V extends Dated>(versions: readonly V[], t: number): V | null {
  let found: V | null = null;
  for (const v of versions) {
    const from = v.effectiveFrom.getTime();
    if (from <= t && (found === null || from > found.effectiveFrom.getTime())) found = v;
  }
  return found;
}

/**
 * The price notice period: the soonest a new price may take effect after it is set. A proxy
 * learns of price changes by refreshing catalog.routing at least every CATALOG_REFRESH_MAX_MS
 * (it then switches at each scheduled version's instant by itself); the notice covers two
 * refreshes, so one failed refresh is survived, plus 10 s for a slow refresh and clock skew.
 * Within it, a proxy could still quote and hold at the old price what settlement bills at the new one.
 */
export const PRICE_NOTICE_MS = 2 * CATALOG_REFRESH_MAX_MS + 10_000;

/** The earliest effectiveFrom a price change set at `now` may have (epoch ms): now + PRICE_NOTICE_MS. */
export function earliestPriceChange(now: number): number {
  return now + PRICE_NOTICE_MS;
}
