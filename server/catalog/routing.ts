import { and, asc, eq, gt, inArray } from "drizzle-orm";
import { z } from "zod";
import type { DbOrTx } from "../../db/client";
import { listingPrices, listings, organizations } from "../../db/schema";
import type { ServiceIdentity } from "../auth/service-tokens";
import { decryptCredential } from "./crypto";
import { measuredStats, windowStart } from "./measured";
import { priceColumns, type PriceVersion } from "./service";

/**
 * `catalog.routing`, the contract between proxies and the backend: what a proxy needs to serve
 * published listings, decrypted credentials included, one bounded page at a time (keyset on the
 * slug) so no single answer grows with the catalog. Both sides import these schemas.
 */

/** Most listings one page carries (each is well under 2 KB). */
export const ROUTING_PAGE_MAX = 500;

export const routingInput = z
  .object({
    /** The previous page's `nextCursor`; absent for the first page. */
    after: z.string().min(1).max(300, "is too long").optional(),
    limit: z.number().int("must be an integer").min(1, "must be at least 1").max(ROUTING_PAGE_MAX, `must be at most ${ROUTING_PAGE_MAX}`).optional(),
  })
  .optional();

const priceVersion = z.object({ effectiveFrom: z.date(), inputPer1kNano: z.bigint(), outputPer1kNano: z.bigint(), cachedInputPer1kNano: z.bigint() });

export const routingListing = z.object({
  listingId: z.string(),
  slug: z.string(),
  orgId: z.string(),
  orgSlug: z.string(),
  family: z.string(),
  modalities: z.array(z.string()),
  contextLength: z.number(),
  upstreamBaseUrl: z.string(),
  upstreamModel: z.string(),
  upstreamCredential: z.string().nullable(),
  tokensPerWatt: z.number().nullable(),
  currentPrice: priceVersion,
  scheduledPrices: z.array(priceVersion),
  /** What real traffic measured over the last 24 h (null when the listing served none); medians are null below the minimum sample. */
  measured: z
    .object({ requests: z.number(), successRate: z.number().nullable(), medianOutputTokensPerSecond: z.number().nullable(), medianTtftMs: z.number().nullable(), tpsSample: z.number().optional(), ttftSample: z.number().optional() })
    .nullable()
    .optional(),
});

export const routingOutput = z.object({
  listings: z.array(routingListing),
  /** Pass as `after` for the next page; null on the last one. */
  nextCursor: z.string().nullable(),
});

export type RoutingPage = z.infer<typeof routingOutput>;

/**
 * One page of published listings by slug, after `after`: upstream, decrypted credential, the price
 * in force now and any scheduled versions (so a cache can switch on time). The platform's proxy
 * sees every published listing; a provider's proxy only its own organisation's. A listing without
 * a price in force yet is left out of the page but still moves the cursor.
 */
export async function routingTable(
  db: DbOrTx,
  p: { service: ServiceIdentity; key: Buffer; after?: string; limit?: number; now?: Date },
): Promise<RoutingPage> {
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
  const byListing = new Map<string, PriceVersion[]>();
  for (const { listingId, ...v } of prices) (byListing.get(listingId) ?? byListing.set(listingId, []).get(listingId)!).push(v);
  const page = rows.flatMap(({ upstreamCredentialEnc, ...r }) => {
    const versions = byListing.get(r.listingId) ?? [];
    const current = versions.filter((v) => v.effectiveFrom <= now).at(-1);
    if (!current) return [];
    return [
      {
        ...r,
        upstreamCredential: upstreamCredentialEnc ? decryptCredential(upstreamCredentialEnc, p.key, r.listingId) : null,
        currentPrice: current,
        scheduledPrices: versions.filter((v) => v.effectiveFrom > now),
        measured: measured.get(r.listingId) ?? null,
      },
    ];
  });
  return { listings: page, nextCursor: rows.length === limit ? rows.at(-1)!.slug : null };
}
