import { sql, type SQL } from "drizzle-orm";

/**
 * The SQL twin of ./price-in-force.ts, the one form of "the price in force at t" every query
 * uses (the catalog's pages, settlement's pricing statement); price-in-force.int.test.ts proves
 * it agrees with priceInForce on random histories. Text only, no parameters: it composes into
 * named prepared statements unchanged.
 */

/**
 * Price periods of the listings `listings` selects (a condition on `lp`, listing_prices): each
 * version with `until`, the next version's start (null for the latest). Ordered by effective_from
 * descending, the order of listing_prices_current_index, so the catalog reads it index-only.
 */
export function pricePeriodsSql(listings: SQL): SQL {
  return sql`SELECT lp.id, lp.listing_id, lp.effective_from, lag(lp.effective_from) OVER (PARTITION BY lp.listing_id ORDER BY lp.effective_from DESC) AS until,
         lp.input_per1k_nano, lp.output_per1k_nano, lp.cached_input_per1k_nano
  FROM listing_prices lp WHERE ${listings}`;
}

/** True when period `p` (a row of pricePeriodsSql) is in force at `t`: from its start, inclusive, to the next one's, exclusive. */
export function inForceSql(p: SQL, t: SQL): SQL {
  return sql`${p}.effective_from <= ${t} AND (${p}.until IS NULL OR ${t} < ${p}.until)`;
}

/**
 * Each listing's version in force at `t` (listing_id and its prices) among the listings `listings`
 * selects (a condition on `lp`): the latest start at or before `t`, which is exactly the period
 * inForceSql finds since starts are unique per listing. One ordered pass over
 * listing_prices_current_index, index-only and without pricePeriodsSql's window function: the
 * marketplace ranks every published listing by it.
 */
export function pricesInForceAtSql(listings: SQL, t: SQL): SQL {
  return sql`SELECT DISTINCT ON (lp.listing_id) lp.listing_id, lp.input_per1k_nano, lp.output_per1k_nano, lp.cached_input_per1k_nano
  FROM listing_prices lp WHERE ${listings} AND lp.effective_from <= ${t} ORDER BY lp.listing_id, lp.effective_from DESC`;
}
