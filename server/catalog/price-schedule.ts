import { and, eq, gt } from "drizzle-orm";
import { z } from "zod";
import type { Db } from "../../db/client";
import { listingPrices } from "../../db/schema";
import { DomainError } from "../errors";
import { recordAudit } from "../audit/log";
import { ownListing } from "./service";

export const cancelScheduledPriceInput = z.object({
  id: z.uuid("is not a valid listing id"),
  /** The scheduled version's start, which identifies it (one version per instant per listing). */
  effectiveFrom: z.coerce.date({ message: "must be a date and time" }),
});

/**
 * Withdraws a price version that has not taken effect yet. Only a future version can go:
 * nothing was ever priced by it, so history is not rewritten; one already in force is
 * refused (CONFLICT), and the delete re-checks the time in the same statement.
 */
export async function cancelScheduledPrice(
  db: Db,
  p: { orgId: string; userId: string; input: z.infer<typeof cancelScheduledPriceInput>; now?: Date },
): Promise<{ listingId: string; effectiveFrom: Date }> {
  const listing = await ownListing(db, p.orgId, p.input.id);
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
