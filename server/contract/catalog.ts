import { z } from "zod";

/**
 * The contract between proxies (server/gateway, or a provider's own) and the backend's
 * service-authenticated procedures, as zod schemas both sides import: the backend as
 * `.output()`, the proxy for its types (z.infer). Pure zod, so the proxy imports nothing of
 * the database. Usage and reservations: server/usage/contract.ts; keys: ./keys.ts.
 */

/**
 * The longest a proxy may go between refreshes of catalog.routing (the platform's proxy uses
 * exactly this). Price changes take effect no sooner than the notice derived from it
 * (server/catalog/price-in-force.ts), so a proxy always has a price before it is charged.
 */
export const CATALOG_REFRESH_MAX_MS = 10_000;

/** Most listings one page carries (each is well under 2 KB). */
export const ROUTING_PAGE_MAX = 500;

/** `catalog.routing`: one bounded page of the routing table, keyset on the slug. */
export const routingInput = z
  .object({
    /** The previous page's `nextCursor`; absent for the first page. */
    after: z.string().min(1).max(300, "is too long").optional(),
    limit: z.number().int("must be an integer").min(1, "must be at least 1").max(ROUTING_PAGE_MAX, `must be at most ${ROUTING_PAGE_MAX}`).optional(),
  })
  .optional();

const priceVersion = z.strictObject({ effectiveFrom: z.date(), inputPer1kNano: z.bigint(), outputPer1kNano: z.bigint(), cachedInputPer1kNano: z.bigint() });

/**
 * One published listing, its credential decrypted. Strict, as every object below: a field the
 * schema does not name (a ciphertext, a new column) fails the answer instead of travelling.
 */
export const routingListing = z.strictObject({
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
  /**
   * The tokenizer the listing declares (server/tokens/rules.ts). A string, not the enum: a proxy
   * older than the backend counts a name it does not know with the documented fallback.
   */
  tokenizer: z.string(),
  currentPrice: priceVersion,
  scheduledPrices: z.array(priceVersion),
  /** What real traffic measured over the last 24 h (null when the listing served none); medians are null below the minimum sample. */
  measured: z
    .strictObject({
      requests: z.number(),
      successRate: z.number().nullable(),
      medianOutputTokensPerSecond: z.number().nullable(),
      medianTtftMs: z.number().nullable(),
      tpsSample: z.number().optional(),
      ttftSample: z.number().optional(),
    })
    .nullable()
    .optional(),
  /**
   * Measured tokens per joule over the last 30 days (server/economy/energy.ts) with its sample; "most
   * efficient" routing ranks by it once sampleTokens reaches MIN_ENERGY_SAMPLE_TOKENS, else by tokensPerWatt.
   */
  measuredEnergy: z.strictObject({ tokensPerJoule: z.number().nullable(), sampleTokens: z.number() }).nullable().optional(),
});

export const routingOutput = z.strictObject({
  listings: z.array(routingListing),
  /** Pass as `after` for the next page; null on the last one. */
  nextCursor: z.string().nullable(),
});

export type RoutingListing = z.infer<typeof routingListing>;
export type RoutingPage = z.infer<typeof routingOutput>;
export type PriceVersion = z.infer<typeof priceVersion>;
