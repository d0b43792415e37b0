import { and, asc, eq, gt, sql } from "drizzle-orm";
import type { z } from "zod";
import type { DbOrTx } from "../../db/client";
import { listingPrices } from "../../db/schema";
import type { PricesPer1k } from "../ledger/money";
import type { priceInput } from "./inputs";
import { inForceSql, pricePeriodsSql } from "./price-in-force-sql";
import { checkPriceMaximum, parsePricePer1kNano } from "./pricing";

export type PriceVersion = PricesPer1k & { effectiveFrom: Date };

/** A provider's typed prices as nano-USD per 1k; throws INVALID_INPUT naming `prices.input` etc. */
export function parsePrices(p: z.infer<typeof priceInput>): PricesPer1k {
  const parse = (text: string, field: string) => checkPriceMaximum(parsePricePer1kNano(text, p.unit, field), p.unit, field);
  return {
    inputPer1kNano: parse(p.input, "prices.input"),
    outputPer1kNano: parse(p.output, "prices.output"),
    cachedInputPer1kNano: parse(p.cachedInput, "prices.cachedInput"),
  };
}

export const priceColumns = {
  effectiveFrom: listingPrices.effectiveFrom,
  inputPer1kNano: listingPrices.inputPer1kNano,
  outputPer1kNano: listingPrices.outputPer1kNano,
  cachedInputPer1kNano: listingPrices.cachedInputPer1kNano,
};

/** The price a usage event at `at` is charged (./price-in-force.ts). Null before the first version. */
export async function priceAt(db: DbOrTx, p: { listingId: string; at: Date }): Promise<PriceVersion | null> {
  // Raw rows carry timestamptz as text (drizzle leaves parsing to its columns): read as drizzle reads it.
  const { rows } = await db.execute<{ effective_from: string; input_per1k_nano: bigint; output_per1k_nano: bigint; cached_input_per1k_nano: bigint }>(sql`
    select p.effective_from, p.input_per1k_nano, p.output_per1k_nano, p.cached_input_per1k_nano
    from (${pricePeriodsSql(sql`lp.listing_id = ${p.listingId}`)}) p
    where ${inForceSql(sql`p`, sql`${p.at.toISOString()}::timestamptz`)}`);
  const [r] = rows;
  return r
    ? {
        effectiveFrom: new Date(r.effective_from),
        inputPer1kNano: r.input_per1k_nano,
        outputPer1kNano: r.output_per1k_nano,
        cachedInputPer1kNano: r.cached_input_per1k_nano,
      }
    : null;
}

/** Every price version of a listing, oldest first (scheduled future ones included). */
export function priceHistory(db: DbOrTx, p: { listingId: string }): Promise<PriceVersion[]> {
  return db.select(priceColumns).from(listingPrices).where(eq(listingPrices.listingId, p.listingId)).orderBy(asc(listingPrices.effectiveFrom));
}

/** The first version that starts after `now`, if any. */
export async function nextScheduledPrice(db: DbOrTx, p: { listingId: string; now: Date }): Promise<PriceVersion | null> {
  const [row] = await db
    .select(priceColumns)
    .from(listingPrices)
    .where(and(eq(listingPrices.listingId, p.listingId), gt(listingPrices.effectiveFrom, p.now)))
    .orderBy(asc(listingPrices.effectiveFrom))
    .limit(1);
  return row ?? null;
}
