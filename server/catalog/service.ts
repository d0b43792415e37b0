import { and, asc, desc, eq, gt, lte, sql, type SQL } from "drizzle-orm";
import { request, type Dispatcher } from "undici";
import { z } from "zod";
import type { Db, DbOrTx } from "../../db/client";
import { listingPrices, listings, listingStatus, modality, organizations, type MemberRole } from "../../db/schema";
import { can } from "../auth/permissions";
import type { ServiceIdentity } from "../auth/service-tokens";
import { DomainError } from "../errors";
import { recordAudit } from "../finance/audit";
import { parseUsd, type PricesPer1k } from "../ledger/money";
import { uuidv7 } from "../lib/ids";
import { OutboundRefused, readCapped } from "../lib/outbound";
import { likePattern } from "../lib/pg-array";
import { credentialLast4, decryptCredential, encryptCredential, maskCredential } from "./crypto";
import { comparablePer1MNano, priceBasis, tokensPerDollar, type PriceBasis } from "./comparable";
import { comparablePer1MSql, inputBasisSql } from "./comparable-sql";
import { gCo2Per1M, whPer1M } from "./energy";
import { measuredBucketsSql, measuredStats, windowStart, type MeasuredStats } from "./measured";
import { checkPriceMaximum, parsePricePer1kNano } from "./pricing";

// ---------------------------------------------------------------- inputs

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
  tokensPerWatt: z.number().positive("must be more than 0").max(1_000_000, "is implausibly large").nullish().transform((v) => v ?? null),
  energyHardware: optionalText(200),
  energyMethod: optionalText(500),
  energyMeasuredOn: z.iso.date("must be a date (YYYY-MM-DD)").nullish().transform((v) => v ?? null),
  gridCarbonGPerKwh: z.number().min(0, "cannot be negative").max(2000, "is implausibly large").nullish().transform((v) => v ?? null),
  region: optionalText(80),
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

/** throughput and ttft sort by what real traffic measured over the last 24 h (server/catalog/measured.ts); unmeasured listings last. */
export const marketplaceSorts = ["price", "input", "output", "tokensPerDollar", "tokensPerWatt", "whPer1M", "throughput", "ttft", "name"] as const;
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
  page: z.number().int().min(1).max(10_000).default(1),
  pageSize: z.number().int().min(1).max(100).default(24),
});

type ListingFields = z.infer<typeof listingFieldsInput>;
type Modality = (typeof modality.enumValues)[number];

// ---------------------------------------------------------------- prices

export type PriceVersion = PricesPer1k & { effectiveFrom: Date };

function parsePrices(p: z.infer<typeof priceInput>): PricesPer1k {
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

/**
 * The price a usage event at time `t` is charged: the version with the latest
 * effective_from <= t (a version applies from its first instant). Null before the first version.
 */
export async function priceAt(db: DbOrTx, listingId: string, t: Date): Promise<PriceVersion | null> {
  const [row] = await db
    .select(priceColumns)
    .from(listingPrices)
    .where(and(eq(listingPrices.listingId, listingId), lte(listingPrices.effectiveFrom, t)))
    .orderBy(desc(listingPrices.effectiveFrom))
    .limit(1);
  return row ?? null;
}

/** Every price version of a listing, oldest first (scheduled future ones included). */
export function priceHistory(db: DbOrTx, listingId: string): Promise<PriceVersion[]> {
  return db.select(priceColumns).from(listingPrices).where(eq(listingPrices.listingId, listingId)).orderBy(asc(listingPrices.effectiveFrom));
}

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
  const listing = await ownListing(db, p.orgId, p.input.id);
  return db.transaction(async (tx) => {
    const before = await priceAt(tx, p.input.id, effectiveFrom);
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

// ---------------------------------------------------------------- provider: own listings

export async function ownListing(db: DbOrTx, orgId: string, id: string) {
  const [row] = await db
    .select()
    .from(listings)
    .where(and(eq(listings.id, id), eq(listings.orgId, orgId)));
  // Same answer for another organisation's listing and a missing one: ids do not leak.
  if (!row) throw new DomainError("NOT_FOUND", "Listing not found", "id");
  return row;
}

function energyColumns(f: ListingFields) {
  return {
    tokensPerWatt: f.tokensPerWatt,
    energyHardware: f.energyHardware,
    energyMethod: f.energyMethod,
    energyMeasuredOn: f.energyMeasuredOn,
    gridCarbonGPerKwh: f.gridCarbonGPerKwh,
    region: f.region,
  };
}

/** Creates a draft listing with its first price version, effective now. */
export async function createListing(
  db: Db,
  p: { orgId: string; orgSlug: string; userId: string; input: z.infer<typeof createListingInput>; key: Buffer; now?: Date },
) {
  const prices = parsePrices(p.input.prices);
  const id = uuidv7();
  const credential = p.input.upstreamCredential || null;
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(listings)
      .values({
        id,
        orgId: p.orgId,
        slug: `${p.orgSlug}/${p.input.modelSlug}`,
        modelSlug: p.input.modelSlug,
        name: p.input.name,
        description: p.input.description,
        family: p.input.family,
        contextLength: p.input.contextLength,
        modalities: p.input.modalities,
        upstreamBaseUrl: p.input.upstreamBaseUrl,
        upstreamModel: p.input.upstreamModel,
        upstreamCredentialEnc: credential && encryptCredential(credential, p.key, id),
        upstreamCredentialLast4: credential && credentialLast4(credential),
        ...energyColumns(p.input),
        createdBy: p.userId,
      })
      .onConflictDoNothing({ target: listings.slug })
      .returning({ id: listings.id, slug: listings.slug });
    if (!row) throw new DomainError("CONFLICT", `modelSlug: you already list a model called "${p.input.modelSlug}"`, "modelSlug");
    await tx.insert(listingPrices).values({ listingId: id, effectiveFrom: p.now ?? new Date(), ...prices, createdBy: p.userId });
    return row;
  });
}

/** Edits a listing's description, upstream and energy figures. Prices change through versions only. */
/**
 * Edits a listing. Once published, where its traffic goes (upstream URL, model, credential)
 * is the owner's to change: a developer redirecting live buyers' requests is FORBIDDEN.
 */
export async function updateListing(db: Db, p: { orgId: string; role: MemberRole; input: z.infer<typeof updateListingInput>; key: Buffer }) {
  const current = await ownListing(db, p.orgId, p.input.id);
  const credential = p.input.upstreamCredential;
  const sameCredential = credential ? current.upstreamCredentialEnc !== null && decryptCredential(current.upstreamCredentialEnc, p.key, current.id) === credential : !p.input.clearCredential;
  const movesTraffic = current.upstreamBaseUrl !== p.input.upstreamBaseUrl || current.upstreamModel !== p.input.upstreamModel || !sameCredential;
  if (current.status === "published" && !can(p.role, "listings.publish") && movesTraffic) {
    throw new DomainError("FORBIDDEN", "upstreamBaseUrl: only an owner may change a published listing's upstream or credential", "upstreamBaseUrl");
  }
  const credentialChange = p.input.clearCredential
    ? { upstreamCredentialEnc: null, upstreamCredentialLast4: null }
    : credential
      ? { upstreamCredentialEnc: encryptCredential(credential, p.key, p.input.id), upstreamCredentialLast4: credentialLast4(credential) }
      : {};
  const [row] = await db
    .update(listings)
    .set({
      name: p.input.name,
      description: p.input.description,
      family: p.input.family,
      contextLength: p.input.contextLength,
      modalities: p.input.modalities,
      upstreamBaseUrl: p.input.upstreamBaseUrl,
      upstreamModel: p.input.upstreamModel,
      ...energyColumns(p.input),
      ...credentialChange,
      updatedAt: new Date(),
    })
    .where(and(eq(listings.id, p.input.id), eq(listings.orgId, p.orgId)))
    .returning({ id: listings.id, slug: listings.slug });
  return row!;
}

export const setStatusInput = z.object({ id: z.uuid("is not a valid listing id"), status: z.enum(listingStatus.enumValues) });

/** Publishes, pauses or returns a listing to draft. */
export async function setListingStatus(db: Db, orgId: string, input: z.infer<typeof setStatusInput>, actorUserId: string | null = null) {
  const listing = await ownListing(db, orgId, input.id);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(listings)
      .set({ status: input.status, updatedAt: new Date() })
      .where(and(eq(listings.id, input.id), eq(listings.orgId, orgId)))
      .returning({ id: listings.id, status: listings.status });
    const subject = { kind: "listing", id: listing.id };
    await recordAudit(tx, { actorUserId, orgId, action: "listing.status", subject, before: { slug: listing.slug, status: listing.status }, after: { slug: listing.slug, status: row!.status } });
    return row!;
  });
}

/** The organisation's listings, any status, with the price in force now and any scheduled change. */
export async function listOwnListings(db: DbOrTx, orgId: string, now = new Date()) {
  const rows = await db
    .select({
      id: listings.id,
      slug: listings.slug,
      name: listings.name,
      family: listings.family,
      status: listings.status,
      tokensPerWatt: listings.tokensPerWatt,
      updatedAt: listings.updatedAt,
    })
    .from(listings)
    .where(eq(listings.orgId, orgId))
    .orderBy(asc(listings.name));
  return Promise.all(
    rows.map(async (r) => {
      const [current, next] = await Promise.all([priceAt(db, r.id, now), nextScheduledPrice(db, r.id, now)]);
      return { ...r, currentPrice: current, scheduledPrice: next };
    }),
  );
}

async function nextScheduledPrice(db: DbOrTx, listingId: string, now: Date) {
  const [row] = await db
    .select(priceColumns)
    .from(listingPrices)
    .where(and(eq(listingPrices.listingId, listingId), gt(listingPrices.effectiveFrom, now)))
    .orderBy(asc(listingPrices.effectiveFrom))
    .limit(1);
  return row ?? null;
}

/** One of the organisation's listings for its edit page: upstream settings, masked credential, price history. */
export async function getOwnListing(db: DbOrTx, orgId: string, id: string, now = new Date()) {
  const l = await ownListing(db, orgId, id);
  const [history, current] = await Promise.all([priceHistory(db, id), priceAt(db, id, now)]);
  return {
    id: l.id,
    slug: l.slug,
    modelSlug: l.modelSlug,
    name: l.name,
    description: l.description,
    family: l.family,
    contextLength: l.contextLength,
    modalities: l.modalities,
    upstreamBaseUrl: l.upstreamBaseUrl,
    upstreamModel: l.upstreamModel,
    credentialMask: maskCredential(l.upstreamCredentialLast4),
    tokensPerWatt: l.tokensPerWatt,
    energyHardware: l.energyHardware,
    energyMethod: l.energyMethod,
    energyMeasuredOn: l.energyMeasuredOn,
    gridCarbonGPerKwh: l.gridCarbonGPerKwh,
    region: l.region,
    status: l.status,
    updatedAt: l.updatedAt,
    currentPrice: current,
    priceHistory: history,
  };
}

// ---------------------------------------------------------------- test connection

/**
 * Only an OpenAI-style `error.message` is passed on from a failed response: the URL is the
 * provider's choice, and echoing arbitrary bodies would turn the test into a way to read
 * pages this server can reach.
 */
function upstreamErrorMessage(body: string): string {
  try {
    const message = (JSON.parse(body) as { error?: { message?: unknown } }).error?.message;
    return typeof message === "string" ? `: ${message}` : "";
  } catch {
    return "";
  }
}

export type ConnectionCheck = { name: string; ok: boolean; status: number | null; latencyMs: number; detail: string };

const TEST_TIMEOUT_MS = 10_000;

/** The most of an answer test connection reads: enough for a model list or an error message. */
const TEST_BODY_BYTES = 256 * 1024;

async function timedRequest(dispatcher: Dispatcher, url: string, credential: string | null, body?: unknown) {
  const started = performance.now();
  const res = await request(url, {
    dispatcher,
    method: body === undefined ? "GET" : "POST",
    headers: {
      accept: "application/json",
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    headersTimeout: TEST_TIMEOUT_MS,
    bodyTimeout: TEST_TIMEOUT_MS,
  });
  const text = await readCapped(res.body, TEST_BODY_BYTES);
  return { status: res.statusCode, latencyMs: Math.round((performance.now() - started) * 10) / 10, text };
}

/**
 * Calls the upstream as the proxy would: `GET /models`, then a one-token request for the
 * listing's first modality, through `dispatcher` (the outbound policy's, as the proxy's: a listing
 * cannot point this inside the platform either). Reports status and latency of each; never throws for upstream failures.
 */
export async function testConnection(db: DbOrTx, p: { orgId: string; id: string; key: Buffer; dispatcher: Dispatcher }) {
  const l = await ownListing(db, p.orgId, p.id);
  const credential = l.upstreamCredentialEnc ? decryptCredential(l.upstreamCredentialEnc, p.key, l.id) : null;
  // Upstream error bodies sometimes echo the key they were sent; it must not reach the browser.
  const scrub = (s: string) => (credential ? s.split(credential).join("••••") : s).slice(0, 300);
  const base = l.upstreamBaseUrl;
  const checks: ConnectionCheck[] = [];

  const run = async (name: string, url: string, body: unknown, judge: (json: unknown) => string | null) => {
    const started = performance.now();
    try {
      const r = await timedRequest(p.dispatcher, url, credential, body);
      let problem: string | null = r.status >= 200 && r.status < 300 ? null : `HTTP ${r.status}${upstreamErrorMessage(r.text)}`;
      if (!problem) {
        try {
          problem = judge(JSON.parse(r.text));
        } catch {
          problem = "the response is not JSON";
        }
      }
      checks.push({ name, ok: !problem, status: r.status, latencyMs: r.latencyMs, detail: scrub(problem ?? "OK") });
    } catch (err) {
      const latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const why = err instanceof OutboundRefused ? `refused: ${err.message}` : `could not connect: ${(err as Error).message}`;
      checks.push({ name, ok: false, status: null, latencyMs, detail: scrub(why) });
    }
  };

  await run("GET /models", `${base}/models`, undefined, (json) => {
    const ids = Array.isArray((json as { data?: unknown }).data) ? (json as { data: { id?: unknown }[] }).data.map((m) => m.id) : null;
    if (!ids) return "the response has no `data` list of models";
    return ids.includes(l.upstreamModel) ? null : `the upstream does not list the model "${l.upstreamModel}"`;
  });
  const [first] = l.modalities;
  if (first === "embeddings") {
    await run("POST /embeddings", `${base}/embeddings`, { model: l.upstreamModel, input: "ping" }, (json) =>
      Array.isArray((json as { data?: unknown }).data) ? null : "the response has no embeddings",
    );
  } else if (first === "completion") {
    await run("POST /completions (1 token)", `${base}/completions`, { model: l.upstreamModel, prompt: "ping", max_tokens: 1 }, (json) =>
      Array.isArray((json as { choices?: unknown }).choices) ? null : "the response has no choices",
    );
  } else {
    await run(
      "POST /chat/completions (1 token)",
      `${base}/chat/completions`,
      { model: l.upstreamModel, messages: [{ role: "user", content: "ping" }], max_tokens: 1 },
      (json) => (Array.isArray((json as { choices?: unknown }).choices) ? null : "the response has no choices"),
    );
  }
  return { ok: checks.every((c) => c.ok), checks, testedAt: new Date() };
}

// ---------------------------------------------------------------- public reads

/** A published listing as the marketplace shows it. No upstream or credential fields, by construction. */
export type MarketplaceItem = {
  id: string;
  slug: string;
  name: string;
  family: string;
  provider: { slug: string; name: string };
  contextLength: number;
  modalities: Modality[];
  prices: PricesPer1k;
  /** What to compare listings by, per 1M tokens (server/catalog/comparable.ts), and its basis. */
  comparablePer1MNano: bigint;
  priceBasis: PriceBasis;
  tokensPerDollar: number | null;
  tokensPerWatt: number | null;
  whPer1M: number | null;
  gCo2Per1M: number | null;
  energyMethod: string | null;
  energyHardware: string | null;
  region: string | null;
  /** Measured by real traffic over the last 24 h; null when the listing served none. */
  measured: MeasuredStats | null;
};

/**
 * Sort keys, each as an SQL expression over a matched listing `m` (its current prices, tokens
 * per watt and measured median buckets, which order like the medians), best first.
 */
const byComparablePrice = sql`${inputBasisSql(sql`m.modalities`)} asc, ${comparablePer1MSql({ inputPer1k: sql`m.input_per1k_nano`, outputPer1k: sql`m.output_per1k_nano`, modalities: sql`m.modalities` })} asc`;
const sortSql: Record<MarketplaceSort, SQL> = {
  // Blended (generating) listings first, then embeddings: their prices are on different bases.
  price: byComparablePrice,
  input: sql`m.input_per1k_nano asc`,
  output: sql`m.output_per1k_nano asc`,
  // Tokens per dollar is 1e15 / the comparable price: most tokens per dollar is the lowest price.
  tokensPerDollar: byComparablePrice,
  tokensPerWatt: sql`m.tokens_per_watt desc nulls last`,
  // Wh per 1M is 1e6 / (tpw · 3600): fewest Wh is the highest tokens per watt.
  whPer1M: sql`m.tokens_per_watt desc nulls last`,
  throughput: sql`m.tps_bucket desc nulls last`,
  ttft: sql`m.ttft_bucket asc nulls last`,
  name: sql`m.name asc`,
};

/** Sorts that need the measured figures joined into every match (the others skip that work). */
const measuredSorts: ReadonlySet<MarketplaceSort> = new Set(["throughput", "ttft"]);

type Row = {
  total: number;
  id: string | null;
  slug: string;
  name: string;
  family: string;
  org_slug: string;
  org_name: string;
  context_length: number;
  modalities: Modality[];
  input_per1k_nano: bigint;
  output_per1k_nano: bigint;
  cached_input_per1k_nano: bigint;
  tokens_per_watt: number | null;
  grid_carbon_g_per_kwh: number | null;
  energy_method: string | null;
  energy_hardware: string | null;
  region: string | null;
};

function comparable(prices: Pick<PricesPer1k, "inputPer1kNano" | "outputPer1kNano">, modalities: readonly Modality[]) {
  const per1M = comparablePer1MNano(prices, modalities);
  return { comparablePer1MNano: per1M, priceBasis: priceBasis(modalities), tokensPerDollar: tokensPerDollar(per1M) };
}

function toItem(r: Row & { id: string }): MarketplaceItem {
  const prices = { inputPer1kNano: r.input_per1k_nano, outputPer1kNano: r.output_per1k_nano, cachedInputPer1kNano: r.cached_input_per1k_nano };
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    family: r.family,
    provider: { slug: r.org_slug, name: r.org_name },
    contextLength: r.context_length,
    modalities: r.modalities,
    prices,
    ...comparable(prices, r.modalities),
    tokensPerWatt: r.tokens_per_watt,
    whPer1M: r.tokens_per_watt === null ? null : whPer1M(r.tokens_per_watt),
    gCo2Per1M: r.tokens_per_watt === null || r.grid_carbon_g_per_kwh === null ? null : gCo2Per1M(r.tokens_per_watt, r.grid_carbon_g_per_kwh),
    energyMethod: r.energy_method,
    energyHardware: r.energy_hardware,
    region: r.region,
    measured: null,
  };
}

/** Published listings with their price in force at `now`, filtered, sorted best first, one page. */
export async function listMarketplace(db: DbOrTx, input: z.input<typeof marketplaceInput>, now = new Date()) {
  const f = marketplaceInput.parse(input);
  const where: SQL[] = [sql`l.status = 'published'`];
  if (f.q) {
    const q = likePattern(f.q);
    where.push(sql`(l.name ilike ${q} or l.slug ilike ${q} or l.family ilike ${q} or o.name ilike ${q} or l.description ilike ${q})`);
  }
  if (f.provider) where.push(sql`o.slug = ${f.provider}`);
  if (f.family) where.push(sql`l.family = ${f.family}`);
  if (f.modality) where.push(sql`${f.modality}::modality = any(l.modalities)`);
  if (f.minContext) where.push(sql`l.context_length >= ${f.minContext}`);
  if (f.maxPricePer1M) {
    const max = parseUsd(f.maxPricePer1M, "maxPricePer1M");
    where.push(sql`${comparablePer1MSql({ inputPer1k: sql`p.input_per1k_nano`, outputPer1k: sql`p.output_per1k_nano`, modalities: sql`l.modalities` })} <= ${max.toString()}::numeric`);
  }
  const order = sql`${sortSql[f.sort]}, m.slug asc`;
  const measuredJoin = measuredSorts.has(f.sort)
    ? sql`left join (${measuredBucketsSql(windowStart(now))}) ms on ms.listing_id = l.id`
    : sql`left join (select null::uuid as listing_id, null::smallint as tps_bucket, null::smallint as ttft_bucket) ms on false`;
  // Two phases (bench/catalog.ts): rank narrow rows of every match, then fetch the wide columns
  // for one page only. `cur` is each listing's version in force at `now`, read in one pass over
  // the covering index listing_prices_current_index instead of one lookup per listing.
  const result = await db.execute<Row>(sql`
    with cur as (
      select distinct on (lp.listing_id) lp.listing_id, lp.input_per1k_nano, lp.output_per1k_nano, lp.cached_input_per1k_nano
      from listing_prices lp
      where lp.effective_from <= ${now.toISOString()}::timestamptz
      order by lp.listing_id, lp.effective_from desc
    ),
    matched as (
      select l.id, l.slug, l.name, l.modalities, l.tokens_per_watt, p.input_per1k_nano, p.output_per1k_nano, p.cached_input_per1k_nano,
             ms.tps_bucket, ms.ttft_bucket
      from listings l
      join organizations o on o.id = l.org_id
      join cur p on p.listing_id = l.id
      ${measuredJoin}
      where ${sql.join(where, sql` and `)}
    ),
    page as (
      select m.* from matched m order by ${order} limit ${f.pageSize} offset ${(f.page - 1) * f.pageSize}
    )
    select c.total, m.id, l.slug, l.name, l.family, o.slug as org_slug, o.name as org_name, l.context_length,
           l.modalities::text[] as modalities, l.tokens_per_watt, l.grid_carbon_g_per_kwh,
           l.energy_method, l.energy_hardware, l.region,
           m.input_per1k_nano, m.output_per1k_nano, m.cached_input_per1k_nano
    from (select count(*)::int as total from matched) c
    left join page m on true
    left join listings l on l.id = m.id
    left join organizations o on o.id = l.org_id
    order by ${order}`);
  const total = result.rows[0]?.total ?? 0;
  const items = result.rows.filter((r): r is Row & { id: string } => r.id !== null).map(toItem);
  const measured = await measuredStats(db, { from: windowStart(now), listingIds: items.map((i) => i.id) });
  for (const item of items) item.measured = measured.get(item.id) ?? null;
  return { items, total, page: f.page, pageSize: f.pageSize, sort: f.sort };
}

/** Providers and families that have published listings, for the marketplace filters. */
export async function marketplaceFacets(db: DbOrTx) {
  const [providers, families] = await Promise.all([
    db
      .selectDistinct({ slug: organizations.slug, name: organizations.name })
      .from(listings)
      .innerJoin(organizations, eq(organizations.id, listings.orgId))
      .where(eq(listings.status, "published"))
      .orderBy(asc(organizations.name)),
    db.selectDistinct({ family: listings.family }).from(listings).where(eq(listings.status, "published")).orderBy(asc(listings.family)),
  ]);
  return { providers, families: families.map((f) => f.family) };
}

/** Every provider of one model family side by side, cheapest comparable price first. */
export async function compareFamily(db: DbOrTx, family: string, now = new Date()) {
  const { items } = await listMarketplace(db, { family, sort: "price", pageSize: 100 }, now);
  const mostEfficient = items.reduce<MarketplaceItem | null>(
    (best, i) => (i.tokensPerWatt !== null && (best === null || i.tokensPerWatt > best.tokensPerWatt!) ? i : best),
    null,
  );
  return {
    family,
    listings: items,
    cheapestId: items[0]?.id ?? null,
    mostEfficientId: mostEfficient?.id ?? null,
  };
}

/** A published (or paused) listing's public page: prices, history, energy. Drafts do not exist here. */
export async function listingDetail(db: DbOrTx, slug: string, now = new Date()) {
  const [l] = await db
    .select({
      id: listings.id,
      slug: listings.slug,
      name: listings.name,
      description: listings.description,
      family: listings.family,
      status: listings.status,
      contextLength: listings.contextLength,
      modalities: listings.modalities,
      tokensPerWatt: listings.tokensPerWatt,
      energyHardware: listings.energyHardware,
      energyMethod: listings.energyMethod,
      energyMeasuredOn: listings.energyMeasuredOn,
      gridCarbonGPerKwh: listings.gridCarbonGPerKwh,
      region: listings.region,
      providerSlug: organizations.slug,
      providerName: organizations.name,
    })
    .from(listings)
    .innerJoin(organizations, eq(organizations.id, listings.orgId))
    .where(and(eq(listings.slug, slug), sql`${listings.status} <> 'draft'`));
  if (!l) throw new DomainError("NOT_FOUND", "No published model has that name", "slug");
  const [history, current] = await Promise.all([priceHistory(db, l.id), priceAt(db, l.id, now)]);
  if (!current) throw new DomainError("NOT_FOUND", "No published model has that name", "slug");
  const measured = await measuredStats(db, { from: windowStart(now), listingIds: [l.id] });
  const { providerSlug, providerName, ...rest } = l;
  return {
    ...rest,
    provider: { slug: providerSlug, name: providerName },
    currentPrice: current,
    ...comparable(current, l.modalities),
    whPer1M: l.tokensPerWatt === null ? null : whPer1M(l.tokensPerWatt),
    gCo2Per1M: l.tokensPerWatt === null || l.gridCarbonGPerKwh === null ? null : gCo2Per1M(l.tokensPerWatt, l.gridCarbonGPerKwh),
    priceHistory: history,
    measured: measured.get(l.id) ?? null,
  };
}
