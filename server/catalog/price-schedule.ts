import { and, eq, gte } from "drizzle-orm";
import type { z } from "zod";
import type { Db } from "../../db/client";
import { listingPrices } from "../../db/schema";
import { DomainError } from "../errors";
import { recordAudit } from "../audit/log";
import { broadcastCatalogChanged } from "../fleet/broadcast";
import type { cancelScheduledPriceInput, changePriceInput } from "./inputs";
import { ownListing } from "./listings";
import { earliestPriceChange, PRICE_NOTICE_MS } from "./price-in-force";
import { parsePrices, priceAt, priceColumns, type PriceVersion } from "./prices";

/** Price changes: versions are added (now or scheduled) and scheduled ones withdrawn; history is never rewritten. */

/**
 * Adds a price version, never sooner than the price notice period (PRICE_NOTICE_MS) from now:
 * left out, the change takes effect at the earliest allowed instant; an explicit time before it
 * is refused naming effectiveFrom. Earlier versions are never touched: usage already served
 * keeps the price it was served at, and every proxy has the change before it takes effect.
 */
export async function changeListingPrice(
  db: Db,
  p: { orgId: string; userId: string; input: z.infer<typeof changePriceInput>; now?: Date },
): Promise<PriceVersion> {
  const now = p.now ?? new Date();
  const earliest = earliestPriceChange(now.getTime());
  const effectiveFrom = p.input.effectiveFrom ?? new Date(earliest);
  if (effectiveFrom.getTime() < now.getTime()) {
    throw new DomainError(
      "INVALID_INPUT",
      "effectiveFrom: a price change cannot take effect in the past; leave it out for the earliest time, or choose a later one",
      "effectiveFrom",
    );
  }
  if (effectiveFrom.getTime() < earliest) {
    throw new DomainError(
      "INVALID_INPUT",
      `effectiveFrom: a price change takes effect at least ${PRICE_NOTICE_MS / 1000} seconds after it is made (so every proxy has it in time); choose ${new Date(earliest).toISOString()} or later, or leave it out for the earliest`,
      "effectiveFrom",
    );
  }
  const prices = parsePrices(p.input.prices);
  const listing = await ownListing(db, { orgId: p.orgId, id: p.input.id });
  const version = await db.transaction(async (tx) => {
    const before = await priceAt(tx, { listingId: p.input.id, at: effectiveFrom });
    const [row] = await tx
      .insert(listingPrices)
      .values({ listingId: p.input.id, effectiveFrom, ...prices, createdBy: p.userId })
      .onConflictDoNothing()
      .returning(priceColumns);
    if (!row) throw new DomainError("CONFLICT", "effectiveFrom: a price version already starts at that moment; choose another time", "effectiveFrom");
    await recordAudit(tx, {
      actorUserId: p.userId,
      orgId: p.orgId,
      action: "price.change",
      subject: { kind: "listing", id: listing.id },
      before: before && { slug: listing.slug, ...before },
      after: { slug: listing.slug, ...row },
    });
    return row;
  });
  // Proxies learn the schedule early and still quote the new price only from effectiveFrom (the notice period stays the guarantee).
  broadcastCatalogChanged([listing.id]);
  return version;
}

/**
 * Withdraws a price version that has not taken effect yet. Only a future version can go:
 * nothing was ever priced by it, so history is not rewritten; one already in force is
 * refused (CONFLICT), and so is one due within the price notice period, which proxies
 * already hold and will switch to. The delete re-checks the time in the same statement.
 */
export async function cancelScheduledPrice(
  db: Db,
  p: { orgId: string; userId: string; input: z.infer<typeof cancelScheduledPriceInput>; now?: Date },
): Promise<{ listingId: string; effectiveFrom: Date }> {
  const listing = await ownListing(db, { orgId: p.orgId, id: p.input.id });
  const now = p.now ?? new Date();
  const cancelled = await db.transaction(async (tx) => {
    const version = and(eq(listingPrices.listingId, listing.id), eq(listingPrices.effectiveFrom, p.input.effectiveFrom));
    const earliest = new Date(earliestPriceChange(now.getTime()));
    const [gone] = await tx
      .delete(listingPrices)
      .where(and(version, gte(listingPrices.effectiveFrom, earliest)))
      .returning();
    if (!gone) {
      const [exists] = await tx.select({ effectiveFrom: listingPrices.effectiveFrom }).from(listingPrices).where(version);
      if (!exists) throw new DomainError("NOT_FOUND", "effectiveFrom: no price version starts at that moment", "effectiveFrom");
      if (exists.effectiveFrom > now) {
        throw new DomainError(
          "CONFLICT",
          `effectiveFrom: this price takes effect in less than ${PRICE_NOTICE_MS / 1000} seconds and proxies already quote it; add a new version after it instead`,
          "effectiveFrom",
        );
      }
      throw new DomainError(
        "CONFLICT",
        "effectiveFrom: this price is already in effect; past prices are never changed, add a new version instead",
        "effectiveFrom",
      );
    }
    const { inputPer1kNano, outputPer1kNano, cachedInputPer1kNano, effectiveFrom } = gone;
    await recordAudit(tx, {
      actorUserId: p.userId,
      orgId: p.orgId,
      action: "price.cancel",
      subject: { kind: "listing", id: listing.id },
      before: { slug: listing.slug, effectiveFrom, inputPer1kNano, outputPer1kNano, cachedInputPer1kNano },
    });
    return { listingId: listing.id, effectiveFrom };
  });
  broadcastCatalogChanged([listing.id]);
  return cancelled;
}
