import { sql } from "drizzle-orm";
import { bigint, check, date, doublePrecision, index, integer, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { uuidv7 } from "../../server/lib/ids";
import { DEFAULT_TOKENIZER, TOKENIZERS } from "../../server/tokens/rules";
import { users } from "./auth";
import { organizations } from "./orgs";

export const listingStatus = pgEnum("listing_status", ["draft", "published", "paused"]);
export const modality = pgEnum("modality", ["chat", "completion", "embeddings"]);
export const tokenizer = pgEnum("tokenizer", TOKENIZERS);

/** A model a provider organisation sells. Prices live in `listing_prices` (effective-dated). */
export const listings = pgTable(
  "listings",
  {
    id: uuid().primaryKey().$defaultFn(uuidv7),
    orgId: uuid()
      .notNull()
      .references(() => organizations.id),
    /** `org-slug/model-slug`: what clients send as `model`. */
    slug: text().notNull().unique(),
    modelSlug: text().notNull(),
    name: text().notNull(),
    description: text().notNull().default(""),
    /** Groups providers of the same model (e.g. `llama-3.1-70b`). */
    family: text().notNull(),
    contextLength: integer().notNull(),
    modalities: modality().array().notNull(),
    upstreamBaseUrl: text().notNull(),
    upstreamModel: text().notNull(),
    /** AES-256-GCM ciphertext (iv.tag.data, base64url) of the upstream credential; never sent to browsers. */
    upstreamCredentialEnc: text(),
    upstreamCredentialLast4: text(),
    /** Tokens per second per watt (= tokens per joule), as declared by the provider. A physical figure, not money. */
    tokensPerWatt: doublePrecision(),
    energyHardware: text(),
    energyMethod: text(),
    energyMeasuredOn: date(),
    gridCarbonGPerKwh: doublePrecision(),
    region: text(),
    /** What the proxy counts this model's tokens with (holds, and answers without usage); server/tokens/. */
    tokenizer: tokenizer().notNull().default(DEFAULT_TOKENIZER),
    status: listingStatus().notNull().default("draft"),
    createdBy: text().references(() => users.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index().on(t.orgId),
    index().on(t.family),
    check("listings_context_length_positive", sql`${t.contextLength} > 0`),
    check("listings_tokens_per_watt_positive", sql`${t.tokensPerWatt} is null or ${t.tokensPerWatt} > 0`),
  ],
);

/**
 * Effective-dated prices, integer nano-USD per 1k tokens. Rows are only ever
 * added: the price in force at t is the row with the latest effective_from <= t.
 */
export const listingPrices = pgTable(
  "listing_prices",
  {
    id: uuid().primaryKey().$defaultFn(uuidv7),
    listingId: uuid()
      .notNull()
      .references(() => listings.id),
    effectiveFrom: timestamp({ withTimezone: true }).notNull(),
    inputPer1kNano: bigint({ mode: "bigint" }).notNull(),
    outputPer1kNano: bigint({ mode: "bigint" }).notNull(),
    cachedInputPer1kNano: bigint({ mode: "bigint" }).notNull(),
    createdBy: text().references(() => users.id),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Serves priceAt(listing, t): the latest row with effective_from <= t.
    uniqueIndex().on(t.listingId, t.effectiveFrom),
    check("listing_prices_non_negative", sql`${t.inputPer1kNano} >= 0 and ${t.outputPer1kNano} >= 0 and ${t.cachedInputPer1kNano} >= 0`),
  ],
);
