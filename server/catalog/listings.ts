import { and, asc, eq } from "drizzle-orm";
import type { z } from "zod";
import type { Db, DbOrTx } from "../../db/client";
import { listingPrices, listings, type MemberRole } from "../../db/schema";
import { can } from "../auth/permissions";
import { DomainError } from "../errors";
import { recordAudit } from "../audit/log";
import { uuidv7 } from "../lib/ids";
import { credentialLast4, decryptCredential, encryptCredential, maskCredential } from "./crypto";
import type { createListingInput, ListingFields, setStatusInput, updateListingInput } from "./inputs";
import { priceInForce } from "./price-in-force";
import { nextScheduledPrice, parsePrices, priceAt, priceHistory } from "./prices";
import { broadcastCatalogChanged } from "../fleet/broadcast";

/** A provider's own listings: create, edit, publish, and the pages that manage them. */

export async function ownListing(db: DbOrTx, p: { orgId: string; id: string }) {
  const [row] = await db
    .select()
    .from(listings)
    .where(and(eq(listings.id, p.id), eq(listings.orgId, p.orgId)));
  // Same answer for another organisation's listing and a missing one: ids do not leak.
  if (!row) throw new DomainError("NOT_FOUND", "Listing not found", "id");
  return row;
}

/** The columns a listing's form sets, on create and on every edit. */
function fieldColumns(f: ListingFields) {
  return {
    name: f.name,
    description: f.description,
    family: f.family,
    contextLength: f.contextLength,
    modalities: f.modalities,
    upstreamBaseUrl: f.upstreamBaseUrl,
    upstreamModel: f.upstreamModel,
    tokensPerWatt: f.tokensPerWatt,
    energyHardware: f.energyHardware,
    energyMethod: f.energyMethod,
    energyMeasuredOn: f.energyMeasuredOn,
    gridCarbonGPerKwh: f.gridCarbonGPerKwh,
    region: f.region,
    tokenizer: f.tokenizer,
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
        ...fieldColumns(p.input),
        upstreamCredentialEnc: credential && encryptCredential(credential, p.key, id),
        upstreamCredentialLast4: credential && credentialLast4(credential),
        createdBy: p.userId,
      })
      .onConflictDoNothing({ target: listings.slug })
      .returning({ id: listings.id, slug: listings.slug });
    if (!row) throw new DomainError("CONFLICT", `modelSlug: you already list a model called "${p.input.modelSlug}"`, "modelSlug");
    await tx.insert(listingPrices).values({ listingId: id, effectiveFrom: p.now ?? new Date(), ...prices, createdBy: p.userId });
    return row;
  });
}

/**
 * Edits a listing. Once published, where its traffic goes (upstream URL, model, credential)
 * is the owner's to change: a developer redirecting live buyers' requests is FORBIDDEN.
 */
export async function updateListing(db: Db, p: { orgId: string; role: MemberRole; input: z.infer<typeof updateListingInput>; key: Buffer }) {
  const current = await ownListing(db, { orgId: p.orgId, id: p.input.id });
  const credential = p.input.upstreamCredential;
  const sameCredential = credential
    ? current.upstreamCredentialEnc !== null && decryptCredential(current.upstreamCredentialEnc, p.key, current.id) === credential
    : !p.input.clearCredential;
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
      ...fieldColumns(p.input),
      ...credentialChange,
      updatedAt: new Date(),
    })
    .where(and(eq(listings.id, p.input.id), eq(listings.orgId, p.orgId)))
    .returning({ id: listings.id, slug: listings.slug });
  // A published listing's upstream may have moved: proxies reload the routing table now rather than at their next refresh.
  broadcastCatalogChanged([row!.id]);
  return row!;
}

/** Publishes, pauses or returns a listing to draft. */
export async function setListingStatus(db: Db, p: { orgId: string; input: z.infer<typeof setStatusInput>; userId?: string | null }) {
  const { orgId, input } = p;
  const actorUserId = p.userId ?? null;
  const listing = await ownListing(db, { orgId, id: input.id });
  const changed = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(listings)
      .set({ status: input.status, updatedAt: new Date() })
      .where(and(eq(listings.id, input.id), eq(listings.orgId, orgId)))
      .returning({ id: listings.id, status: listings.status });
    const subject = { kind: "listing", id: listing.id };
    await recordAudit(tx, {
      actorUserId,
      orgId,
      action: "listing.status",
      subject,
      before: { slug: listing.slug, status: listing.status },
      after: { slug: listing.slug, status: row!.status },
    });
    return row!;
  });
  // A paused listing stops taking requests on every proxy within milliseconds, not at the next refresh.
  broadcastCatalogChanged([changed.id]);
  return changed;
}

/** The organisation's listings, any status, with the price in force now and any scheduled change. */
export async function listOwnListings(db: DbOrTx, p: { orgId: string; now?: Date }) {
  const now = p.now ?? new Date();
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
    .where(eq(listings.orgId, p.orgId))
    .orderBy(asc(listings.name));
  return Promise.all(
    rows.map(async (r) => {
      const [current, next] = await Promise.all([priceAt(db, { listingId: r.id, at: now }), nextScheduledPrice(db, { listingId: r.id, now })]);
      return { ...r, currentPrice: current, scheduledPrice: next };
    }),
  );
}

/** One of the organisation's listings for its edit page: upstream settings, masked credential, price history. */
export async function getOwnListing(db: DbOrTx, p: { orgId: string; id: string; now?: Date }) {
  const l = await ownListing(db, p);
  const history = await priceHistory(db, { listingId: l.id });
  const current = priceInForce(history, (p.now ?? new Date()).getTime());
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
    tokenizer: l.tokenizer,
    status: l.status,
    updatedAt: l.updatedAt,
    currentPrice: current,
    priceHistory: history,
  };
}
