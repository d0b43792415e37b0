import type { Db } from "../../db/client";
import { apiKeys, listingPrices, listings, organizations } from "../../db/schema";
import { uuidv7 } from "../lib/ids";
import type { PricesPer1k } from "../ledger/money";
import { ensureAccount, postTransfers, setCreditLimit } from "../ledger/service";
import type { UsageEvent } from "./contract";

export { accountSums } from "../ledger/testing";

/** Test and benchmark fixtures for usage: providers with listings and price histories, buyers with credit and keys. */

export type PriceRow = PricesPer1k & { effectiveFrom: Date };
export type WorldListing = { id: string; slug: string; providerOrgId: string; providerSlug: string; prices: PriceRow[] };
export type WorldBuyer = { orgId: string; keyIds: string[]; creditNano: bigint; creditLimitNano: bigint };

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

export async function makeProvider(db: Db, name = "provider") {
  const slug = `${name}-${unique()}`.toLowerCase();
  const [org] = await db.insert(organizations).values({ name: slug, slug }).returning();
  return { id: org!.id, slug };
}

/** A published listing whose price versions are the given rows (effective-dated, any time). */
export async function makeListing(db: Db, provider: { id: string; slug: string }, prices: PriceRow[]): Promise<WorldListing> {
  const model = `m-${unique()}`;
  const [l] = await db
    .insert(listings)
    .values({
      orgId: provider.id,
      slug: `${provider.slug}/${model}`,
      modelSlug: model,
      name: model,
      family: "test-family",
      contextLength: 8192,
      modalities: ["chat"],
      upstreamBaseUrl: "http://127.0.0.1:9/v1",
      upstreamModel: model,
      status: "published",
    })
    .returning();
  if (prices.length) await db.insert(listingPrices).values(prices.map((p) => ({ listingId: l!.id, ...p })));
  return {
    id: l!.id,
    slug: l!.slug,
    providerOrgId: provider.id,
    providerSlug: provider.slug,
    prices: [...prices].sort((a, b) => a.effectiveFrom.getTime() - b.effectiveFrom.getTime()),
  };
}

/** A key row (no secret needed: settlement and reservations address keys by id). */
export async function makeKey(db: Db, orgId: string, limit?: { spendLimitNano: bigint; limitPeriod: "daily" | "weekly" | "monthly" | "lifetime" }) {
  const id = uuidv7();
  await db.insert(apiKeys).values({
    id,
    orgId,
    lineageId: id,
    name: "test key",
    prefix: "tm_test",
    last4: "0000",
    hash: `test-${id}`,
    ...(limit ?? {}),
  });
  return id;
}

/** A buyer organisation with `keys` keys, topped up with `creditNano` and allowed `creditLimitNano` past zero. */
export async function makeBuyer(db: Db, opts: { creditNano: bigint; creditLimitNano?: bigint; keys?: number; name?: string }): Promise<WorldBuyer> {
  const slug = `${opts.name ?? "buyer"}-${unique()}`.toLowerCase();
  const [org] = await db.insert(organizations).values({ name: slug, slug }).returning();
  const keyIds: string[] = [];
  for (let i = 0; i < (opts.keys ?? 1); i++) keyIds.push(await makeKey(db, org!.id));
  await db.transaction(async (tx) => {
    const credits = await ensureAccount(tx, { orgId: org!.id, kind: "buyer_credits" });
    await ensureAccount(tx, { orgId: org!.id, kind: "buyer_receivable" });
    if (opts.creditLimitNano) await setCreditLimit(tx, { accountId: credits.id, creditLimitNano: opts.creditLimitNano });
    if (opts.creditNano > 0n) {
      const clearing = await ensureAccount(tx, { orgId: null, kind: "payments_clearing" });
      await postTransfers(tx, {
        transfers: [{ id: uuidv7(), debitAccountId: clearing.id, creditAccountId: credits.id, amountNano: opts.creditNano, code: "topup" }],
      });
    }
  });
  return { orgId: org!.id, keyIds, creditNano: opts.creditNano, creditLimitNano: opts.creditLimitNano ?? 0n };
}

/** The price in force at `t` from a listing's versions (the test's own model of priceAt). */
export function priceInForce(listing: WorldListing, t: Date): PriceRow | null {
  let found: PriceRow | null = null;
  for (const p of listing.prices) if (p.effectiveFrom.getTime() <= t.getTime()) found = p;
  return found;
}

/** An event with sensible defaults. */
export function makeEvent(e: Partial<UsageEvent> & Pick<UsageEvent, "keyId" | "listingId">): UsageEvent {
  const startedAt = e.startedAt ?? new Date(Date.now() - 5_000);
  return {
    id: uuidv7(),
    reservationId: null,
    inputTokens: 1000,
    outputTokens: 500,
    cachedInputTokens: 0,
    firstTokenAt: new Date(startedAt.getTime() + 100),
    endedAt: new Date(startedAt.getTime() + 1000),
    status: "ok",
    estimated: false,
    upstreamStatus: 200,
    ...e,
    startedAt,
  };
}
