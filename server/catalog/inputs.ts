import { z } from "zod";
import { listingStatus, modality, tokenizer } from "../../db/schema";
import { DEFAULT_ECONOMY_WINDOW, economyWindows } from "../economy/windows";
import { DEFAULT_TOKENIZER } from "../tokens/rules";

/**
 * Every catalog input schema, in one place: what a provider or a visitor may send, each
 * message naming the field as the form shows it. Services take the parsed shapes.
 */

/** Model slugs and families: lower-case, digits, dots and dashes (`llama-3.1-8b`). */
export const MODEL_SLUG_RE = /^[a-z0-9](?:[a-z0-9.-]{0,62}[a-z0-9])?$/;
const modelSlug = z.string().trim().regex(MODEL_SLUG_RE, "must be 1–64 lower-case letters, digits, dots or dashes");
const optionalText = (max: number) =>
  z
    .string()
    .trim()
    .max(max, `must be at most ${max} characters`)
    .nullish()
    .transform((v) => (v ? v : null));

export const listingFieldsInput = z.object({
  name: z.string().trim().min(2, "must be at least 2 characters").max(80, "must be at most 80 characters"),
  description: z.string().trim().max(2000, "must be at most 2000 characters").default(""),
  family: modelSlug,
  contextLength: z.number().int("must be a whole number of tokens").min(1, "must be at least 1 token").max(100_000_000, "is too large"),
  modalities: z.array(z.enum(modality.enumValues)).min(1, "choose at least one modality"),
  upstreamBaseUrl: z
    .url({ message: "must be an http(s) URL such as https://api.example.com/v1" })
    .refine((u) => /^https?:\/\//.test(u), "must be an http(s) URL such as https://api.example.com/v1")
    // The credential has its own field (stored encrypted); a query or fragment would be dropped or mangled on every call.
    .refine((u) => !/^https?:\/\/[^/?#]*@/.test(u), "must not contain a user name or password: put the key in the credential field")
    .refine((u) => !u.includes("?") && !u.includes("#"), "must not contain a query (?…) or fragment (#…)")
    .transform((u) => u.replace(/\/+$/, "")),
  upstreamModel: z.string().trim().min(1, "is required").max(200, "must be at most 200 characters"),
  tokensPerWatt: z
    .number()
    .positive("must be more than 0")
    .max(1_000_000, "is implausibly large")
    .nullish()
    .transform((v) => v ?? null),
  energyHardware: optionalText(200),
  energyMethod: optionalText(500),
  energyMeasuredOn: z.iso
    .date("must be a date (YYYY-MM-DD)")
    .nullish()
    .transform((v) => v ?? null),
  gridCarbonGPerKwh: z
    .number()
    .min(0, "cannot be negative")
    .max(2000, "is implausibly large")
    .nullish()
    .transform((v) => v ?? null),
  region: optionalText(80),
  tokenizer: z.enum(tokenizer.enumValues, { message: `must be one of ${tokenizer.enumValues.join(", ")}` }).default(DEFAULT_TOKENIZER),
});

export const priceInput = z.object({
  unit: z.enum(["1M", "1k"]),
  input: z.string().max(40, "is too long"),
  output: z.string().max(40, "is too long"),
  cachedInput: z.string().max(40, "is too long"),
});

export const createListingInput = listingFieldsInput.extend({
  modelSlug,
  upstreamCredential: z.string().trim().max(1000, "is too long").optional(),
  prices: priceInput,
});

export const updateListingInput = listingFieldsInput.extend({
  id: z.uuid("is not a valid listing id"),
  /** A new credential replaces the saved one; leave it out to keep the saved one. */
  upstreamCredential: z.string().trim().max(1000, "is too long").optional(),
  clearCredential: z.boolean().default(false),
});

export const changePriceInput = z.object({
  id: z.uuid("is not a valid listing id"),
  prices: priceInput,
  /** When the new price takes effect; now when left out. Never in the past. */
  effectiveFrom: z.coerce.date({ message: "must be a date and time" }).optional(),
});

/**
 * throughput and ttft sort by what real traffic measured over the last 24 h (server/catalog/measured.ts); unmeasured listings last.
 * cput by cost per useful token over the chosen window, standardCost and standardLatency by the standard conversation
 * (server/economy/); tokensPerWatt and whPer1M by measured tokens per joule where its sample suffices, else declared.
 */
export const marketplaceSorts = [
  "price",
  "input",
  "output",
  "tokensPerDollar",
  "tokensPerWatt",
  "whPer1M",
  "throughput",
  "ttft",
  "cput",
  "standardCost",
  "standardLatency",
  "name",
] as const;
export type MarketplaceSort = (typeof marketplaceSorts)[number];

export const marketplaceInput = z.object({
  q: z.string().trim().max(100, "must be at most 100 characters").optional(),
  provider: z.string().trim().max(40).optional(),
  family: z.string().trim().max(64).optional(),
  modality: z.enum(modality.enumValues).optional(),
  /** Highest comparable price (server/catalog/comparable.ts), dollars per 1M tokens. */
  maxPricePer1M: z.string().trim().max(40).optional(),
  minContext: z.number().int().min(1).max(100_000_000).optional(),
  sort: z.enum(marketplaceSorts).default("price"),
  /** The span cost per useful token is read over. */
  window: z.enum(economyWindows).default(DEFAULT_ECONOMY_WINDOW),
  page: z.number().int().min(1).max(10_000).default(1),
  pageSize: z.number().int().min(1).max(100).default(24),
});

export const listingIdInput = z.object({ id: z.uuid("is not a valid listing id") });
export const familyInput = z.object({
  family: z.string().trim().min(1, "is required").max(64),
  window: z.enum(economyWindows).default(DEFAULT_ECONOMY_WINDOW),
});
export const listingSlugInput = z.object({
  slug: z.string().trim().min(3, "is required").max(120),
  window: z.enum(economyWindows).default(DEFAULT_ECONOMY_WINDOW),
});

export const setStatusInput = z.object({ id: z.uuid("is not a valid listing id"), status: z.enum(listingStatus.enumValues) });

export const cancelScheduledPriceInput = z.object({
  id: z.uuid("is not a valid listing id"),
  /** The scheduled version's start, which identifies it (one version per instant per listing). */
  effectiveFrom: z.coerce.date({ message: "must be a date and time" }),
});

export type ListingFields = z.infer<typeof listingFieldsInput>;
export type Modality = (typeof modality.enumValues)[number];
