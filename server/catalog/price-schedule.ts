import { and, eq, gt } from "drizzle-orm";
import type { z } from "zod";
import type { Db } from "../../db/client";
import { listingPrices } from "../../db/schema";
import { DomainError } from "../errors";
import { recordAudit } from "../audit/log";
import type { cancelScheduledPriceInput, changePriceInput } from "./inputs";
import { ownListing } from "./listings";
import { parsePrices, priceAt, priceColumns, type PriceVersion } from "./prices";

/** Price changes: versions are added (now or scheduled) and scheduled ones withdrawn; history is never rewritten. */

/**
 * Adds a price version effective now or later. Earlier versions are never touched, and a
 * version cannot start in the past: usage already served keeps the price it was served at.
 */
export async function changeListingPrice(
  db: Db,
  p: { orgId: string; userId: string; input: z.infer<typeof changePriceInput>; now?: Date },
): Promise<PriceVersion> {
  const now = p.now ?? new Date();
  const effectiveFrom = p.input.effectiveFrom ?? now;
  if (effectiveFrom.getTime() < now.getTime()) {
    throw new DomainError("INVALID_INPUT", "effectiveFrom: a price change cannot take effect in the past; choose now or a later time", "effectiveFrom");
  }
  const prices = parsePrices(p.input.prices);
  const listing = await ownListing(db, { orgId: p.orgId, id: p.input.id });
  return db.transaction(async (tx) => {
    const before = await priceAt(tx, { listingId: p.input.id, at: effectiveFrom });
    const [row] = await tx
      .insert(listingPrices)
      .values({ listingId: p.input.id, effectiveFrom, ...prices, createdBy: p.userId })
      .onConflictDoNothing()
      .returning(priceColumns);
    if (!row) throw new DomainError("CONFLICT", "effectiveFrom: a price version already starts at that moment; choose another time", "effectiveFrom");
    await recordAudit(tx, { actorUserId: p.userId, orgId: p.orgId, action: "price.change", subject: { kind: "listing", id: listing.id }, before: before && { slug: listing.slug, ...before }, after: { slug: listing.slug, ...row } });
    return row;
  });
}

/**
 * Withdraws a price version that has not taken effect yet. Only a future version can go:
 * nothing was ever priced by it, so history is not rewritten; one already in force is
 * refused (CONFLICT), and the delete re-checks the time in the same statement.
 */
export async function cancelScheduledPrice(
  db: Db,
  p: { orgId: string; userId: string; input: z.infer<typeof cancelScheduledPriceInput>; now?: Date },
): Promise<{ listingId: string; effectiveFrom: Date }> {
  const listing = await ownListing(db, { orgId: p.orgId, id: p.input.id });
  const now = p.now ?? new Date();
  return db.transaction(async (tx) => {
    const version = and(eq(listingPrices.listingId, listing.id), eq(listingPrices.effectiveFrom, p.input.effectiveFrom));
    const [gone] = await tx.delete(listingPrices).where(and(version, gt(listingPrices.effectiveFrom, now))).returning();
    if (!gone) {
      const [exists] = await tx.select({ id: listingPrices.id }).from(listingPrices).where(version);
      if (!exists) throw new DomainError("NOT_FOUND", "effectiveFrom: no price version starts at that moment", "effectiveFrom");
      throw new DomainError("CONFLICT", "effectiveFrom: this price is already in effect; past prices are never changed, add a new version instead", "effectiveFrom");
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
}
