import { z } from "zod";
import { listingStatus, modality, tokenizer } from "../../../db/schema";
import { testConnection } from "../../catalog/connection-test";
import {
  cancelScheduledPriceInput,
  changePriceInput,
  createListingInput,
  familyInput,
  listingIdInput,
  listingSlugInput,
  marketplaceInput,
  marketplaceSorts,
  setStatusInput,
  updateListingInput,
} from "../../catalog/inputs";
import { createListing, getOwnListing, listOwnListings, setListingStatus, updateListing } from "../../catalog/listings";
import { compareFamily, listingDetail, listMarketplace, marketplaceFacets } from "../../catalog/marketplace";
import { cancelScheduledPrice, changeListingPrice } from "../../catalog/price-schedule";
import { routingTable } from "../../catalog/routing";
import { routingInput, routingOutput } from "../../contract/catalog";
import { listingEconomyOutput } from "../../economy/figures";
import { economyWindows } from "../../economy/windows";
import { catalogEncryptionKey } from "../../env";
import { upstreamDispatcher } from "../../lib/outbound";
import { orgProcedure, publicProcedure, router, serviceProcedure } from "../trpc";

// Output schemas for everything a browser receives. zod objects drop keys they do not
// name, so an upstream credential (or its ciphertext) cannot leak through a later change
// to a service function's return value.
const priceVersion = z.object({
  effectiveFrom: z.date(),
  inputPer1kNano: z.bigint(),
  outputPer1kNano: z.bigint(),
  cachedInputPer1kNano: z.bigint(),
});
const prices = priceVersion.omit({ effectiveFrom: true });
const modalities = z.array(z.enum(modality.enumValues));
const energy = {
  tokensPerWatt: z.number().nullable(),
  whPer1M: z.number().nullable(),
  gCo2Per1M: z.number().nullable(),
  energyMethod: z.string().nullable(),
  energyHardware: z.string().nullable(),
  region: z.string().nullable(),
};
const provider = z.object({ slug: z.string(), name: z.string() });
const measured = z
  .object({
    requests: z.number(),
    successRate: z.number().nullable(),
    medianOutputTokensPerSecond: z.number().nullable(),
    tpsSample: z.number(),
    medianTtftMs: z.number().nullable(),
    ttftSample: z.number(),
  })
  .nullable();

const marketplaceItem = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  family: z.string(),
  provider,
  contextLength: z.number(),
  modalities,
  prices,
  comparablePer1MNano: z.bigint(),
  priceBasis: z.enum(["blend", "input"]),
  tokensPerDollar: z.number().nullable(),
  measured,
  economy: listingEconomyOutput.nullable(),
  ...energy,
});

const marketplacePage = z.object({
  items: z.array(marketplaceItem),
  total: z.number(),
  page: z.number(),
  pageSize: z.number(),
  sort: z.enum(marketplaceSorts),
  window: z.enum(economyWindows),
  /** When the token-economy figures were last computed (server/economy/summary.ts). */
  economyAsOf: z.date().nullable(),
});

const listingPage = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  description: z.string(),
  family: z.string(),
  status: z.enum(listingStatus.enumValues),
  contextLength: z.number(),
  modalities,
  tokenizer: z.enum(tokenizer.enumValues),
  provider,
  currentPrice: priceVersion,
  comparablePer1MNano: z.bigint(),
  priceBasis: z.enum(["blend", "input"]),
  tokensPerDollar: z.number().nullable(),
  energyMeasuredOn: z.string().nullable(),
  gridCarbonGPerKwh: z.number().nullable(),
  priceHistory: z.array(priceVersion),
  measured,
  economy: listingEconomyOutput,
  economyAsOf: z.date().nullable(),
  ...energy,
});

const ownListingRow = z.object({
  id: z.string(),
  slug: z.string(),
  name: z.string(),
  family: z.string(),
  status: z.enum(listingStatus.enumValues),
  tokensPerWatt: z.number().nullable(),
  updatedAt: z.date(),
  currentPrice: priceVersion.nullable(),
  scheduledPrice: priceVersion.nullable(),
});

const ownListing = z.object({
  id: z.string(),
  slug: z.string(),
  modelSlug: z.string(),
  name: z.string(),
  description: z.string(),
  family: z.string(),
  contextLength: z.number(),
  modalities,
  upstreamBaseUrl: z.string(),
  upstreamModel: z.string(),
  /** `••••` + last 4, never the credential. */
  credentialMask: z.string().nullable(),
  tokensPerWatt: z.number().nullable(),
  energyHardware: z.string().nullable(),
  energyMethod: z.string().nullable(),
  energyMeasuredOn: z.string().nullable(),
  gridCarbonGPerKwh: z.number().nullable(),
  region: z.string().nullable(),
  tokenizer: z.enum(tokenizer.enumValues),
  status: z.enum(listingStatus.enumValues),
  updatedAt: z.date(),
  currentPrice: priceVersion.nullable(),
  priceHistory: z.array(priceVersion),
});

const connectionResult = z.object({
  ok: z.boolean(),
  testedAt: z.date(),
  checks: z.array(z.object({ name: z.string(), ok: z.boolean(), status: z.number().nullable(), latencyMs: z.number(), detail: z.string() })),
});

const listingRef = z.object({ id: z.string(), slug: z.string() });

export const catalogRouter = router({
  // Public reads: anyone, signed in or not. Only published listings.
  marketplace: publicProcedure
    .input(marketplaceInput)
    .output(marketplacePage)
    .query(({ ctx, input }) => listMarketplace(ctx.db, input)),

  facets: publicProcedure.output(z.object({ providers: z.array(provider), families: z.array(z.string()) })).query(({ ctx }) => marketplaceFacets(ctx.db)),

  family: publicProcedure
    .input(familyInput)
    .output(
      z.object({
        family: z.string(),
        listings: z.array(marketplaceItem),
        cheapestId: z.string().nullable(),
        mostEfficientId: z.string().nullable(),
        lowestCputId: z.string().nullable(),
        economyAsOf: z.date().nullable(),
      }),
    )
    .query(({ ctx, input }) => compareFamily(ctx.db, input)),

  listing: publicProcedure
    .input(listingSlugInput)
    .output(listingPage)
    .query(({ ctx, input }) => listingDetail(ctx.db, input)),

  // The provider console: the active organisation's own listings.
  mine: orgProcedure()
    .output(z.array(ownListingRow))
    .query(({ ctx }) => listOwnListings(ctx.db, { orgId: ctx.org.id })),

  get: orgProcedure()
    .input(listingIdInput)
    .output(ownListing)
    .query(({ ctx, input }) => getOwnListing(ctx.db, { orgId: ctx.org.id, id: input.id })),

  // Developers may draft and edit; publishing and price changes are the owner's call.
  create: orgProcedure("listings.manage")
    .input(createListingInput)
    .output(listingRef)
    .mutation(({ ctx, input }) => createListing(ctx.db, { orgId: ctx.org.id, orgSlug: ctx.org.slug, userId: ctx.user.id, input, key: catalogEncryptionKey() })),

  update: orgProcedure("listings.manage")
    .input(updateListingInput)
    .output(listingRef)
    .mutation(({ ctx, input }) => updateListing(ctx.db, { orgId: ctx.org.id, role: ctx.org.role, input, key: catalogEncryptionKey() })),

  testConnection: orgProcedure("listings.manage")
    .input(listingIdInput)
    .output(connectionResult)
    .mutation(({ ctx, input }) => testConnection(ctx.db, { orgId: ctx.org.id, id: input.id, key: catalogEncryptionKey(), dispatcher: upstreamDispatcher() })),

  setStatus: orgProcedure("listings.publish")
    .input(setStatusInput)
    .output(z.object({ id: z.string(), status: z.enum(listingStatus.enumValues) }))
    .mutation(({ ctx, input }) => setListingStatus(ctx.db, { orgId: ctx.org.id, input, userId: ctx.user.id })),

  changePrice: orgProcedure("listings.publish")
    .input(changePriceInput)
    .output(priceVersion)
    .mutation(({ ctx, input }) => changeListingPrice(ctx.db, { orgId: ctx.org.id, userId: ctx.user.id, input })),

  cancelScheduledPrice: orgProcedure("listings.publish")
    .input(cancelScheduledPriceInput)
    .mutation(({ ctx, input }) => cancelScheduledPrice(ctx.db, { orgId: ctx.org.id, userId: ctx.user.id, input })),

  // Proxies: decrypted credentials, so only with a service token (never a browser session); paged and bounded.
  routing: serviceProcedure
    .input(routingInput)
    .output(routingOutput)
    .query(({ ctx, input }) => routingTable(ctx.db, { service: ctx.service, key: catalogEncryptionKey(), after: input?.after, limit: input?.limit })),
});
