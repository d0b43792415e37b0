import { and, asc, eq, gt, inArray } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { listingPrices, listings, organizations } from "../../db/schema";
import type { ServiceIdentity } from "../auth/service-tokens";
import { ROUTING_PAGE_MAX, type RoutingPage } from "../contract/catalog";
import { decryptCredential } from "./crypto";
import { measuredStats, windowStart } from "./measured";
import { priceInForce } from "./price-in-force";
import { priceColumns, type PriceVersion } from "./prices";
import { listingEnergy, type ListingEnergy } from "../economy/store";

const energyOf = (e: ListingEnergy | undefined) => (e && e.tokensPerJoule !== null ? { tokensPerJoule: e.tokensPerJoule, sampleTokens: e.sampleTokens } : null);

/**
 * One page of published listings by slug, after `after`: upstream, decrypted credential, the price
 * in force now and any scheduled versions (so a cache can switch on time). The platform's proxy
 * sees every published listing; a provider's proxy only its own organisation's. A listing without
 * a price in force yet is left out of the page but still moves the cursor.
 */
export async function routingTable(db: DbOrTx, p: { service: ServiceIdentity; key: Buffer; after?: string; limit?: number; now?: Date }): Promise<RoutingPage> {
  const now = p.now ?? new Date();
  const limit = Math.min(p.limit ?? ROUTING_PAGE_MAX, ROUTING_PAGE_MAX);
  const conditions = [eq(listings.status, "published")];
  if (p.service.kind === "provider") conditions.push(eq(organizations.slug, p.service.orgSlug));
  if (p.after !== undefined) conditions.push(gt(listings.slug, p.after));
  const rows = await db
    .select({
      listingId: listings.id,
      slug: listings.slug,
      orgId: listings.orgId,
      orgSlug: organizations.slug,
      family: listings.family,
      modalities: listings.modalities,
      contextLength: listings.contextLength,
      upstreamBaseUrl: listings.upstreamBaseUrl,
      upstreamModel: listings.upstreamModel,
      upstreamCredentialEnc: listings.upstreamCredentialEnc,
      tokensPerWatt: listings.tokensPerWatt,
      tokenizer: listings.tokenizer,
    })
    .from(listings)
    .innerJoin(organizations, eq(organizations.id, listings.orgId))
    .where(and(...conditions))
    .orderBy(asc(listings.slug))
    .limit(limit);
  const ids = rows.map((r) => r.listingId);
  const prices = ids.length
    ? await db
        .select({ listingId: listingPrices.listingId, ...priceColumns })
        .from(listingPrices)
        .where(inArray(listingPrices.listingId, ids))
        .orderBy(asc(listingPrices.listingId), asc(listingPrices.effectiveFrom))
    : [];
  // What traffic measured over the last 24 h, for "fastest" routing (absent when a listing served none).
  const measured = ids.length ? await measuredStats(db, { from: windowStart(now), listingIds: ids }) : new Map();
  // Measured energy over 30 days, for "most efficient" routing.
  const energy = await listingEnergy(db, { listingIds: ids, now });
  const byListing = new Map<string, PriceVersion[]>();
  for (const { listingId, ...v } of prices) (byListing.get(listingId) ?? byListing.set(listingId, []).get(listingId)!).push(v);
  const page = rows.flatMap(({ upstreamCredentialEnc, ...r }) => {
    const versions = byListing.get(r.listingId) ?? [];
    const current = priceInForce(versions, now.getTime());
    if (!current) return [];
    return [
      {
        ...r,
        upstreamCredential: upstreamCredentialEnc ? decryptCredential(upstreamCredentialEnc, p.key, r.listingId) : null,
        currentPrice: current,
        scheduledPrices: versions.filter((v) => v.effectiveFrom > now),
        measured: measured.get(r.listingId) ?? null,
        measuredEnergy: energyOf(energy.get(r.listingId)),
      },
    ];
  });
  return { listings: page, nextCursor: rows.length === limit ? rows.at(-1)!.slug : null };
}
