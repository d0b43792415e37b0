import { and, asc, eq, sql, type SQL } from "drizzle-orm";
import type { z } from "zod";
import type { DbOrTx } from "../../db/client";
import { listings, organizations } from "../../db/schema";
import { DomainError } from "../errors";
import { parseUsd, type PricesPer1k } from "../ledger/money";
import { likePattern } from "../lib/pg-array";
import { comparablePer1MNano, priceBasis, tokensPerDollar, type PriceBasis } from "./comparable";
import { comparablePer1MSql, inputBasisSql } from "./comparable-sql";
import { gCo2Per1M, whPer1M } from "./energy";
import { marketplaceInput, type MarketplaceSort, type Modality } from "./inputs";
import { measuredStats, windowStart, type MeasuredStats } from "./measured";
import { priceInForce } from "./price-in-force";
import { pricesInForceAtSql } from "./price-in-force-sql";
import { priceHistory } from "./prices";
import { economyJoinSql, standardCostSql } from "../economy/sort-sql";
import { efficiencyFigure } from "../economy/energy";
import { listingEconomies, type ListingEconomy } from "../economy/figures";
import { economyAsOf } from "../economy/summary";
import { DEFAULT_ECONOMY_WINDOW, type EconomyWindow } from "../economy/windows";

/** Public reads: the marketplace, a family side by side, a listing's page. Published listings only. */

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
  /** Cost per useful token, the standard conversation and measured energy (server/economy/). */
  economy: ListingEconomy | null;
};

/**
 * Sort keys, each as an SQL expression over a matched listing `m` (its current prices, tokens
 * per watt and measured median buckets, which order like the medians), best first.
 */
const byComparablePrice = sql`${inputBasisSql(sql`m.modalities`)} asc, ${comparablePer1MSql({ inputPer1k: sql`m.input_per1k_nano`, outputPer1k: sql`m.output_per1k_nano`, modalities: sql`m.modalities` })} asc`;
// Measured tokens per joule where its sample suffices (efficiencyFigure, server/economy/energy.ts), else declared.
const byEfficiency = sql`coalesce(m.measured_tpj, m.tokens_per_watt) desc nulls last`;
const sortSql: Record<MarketplaceSort, SQL> = {
  // Blended (generating) listings first, then embeddings: their prices are on different bases.
  price: byComparablePrice,
  input: sql`m.input_per1k_nano asc`,
  output: sql`m.output_per1k_nano asc`,
  // Tokens per dollar is 1e15 / the comparable price: most tokens per dollar is the lowest price.
  tokensPerDollar: byComparablePrice,
  tokensPerWatt: byEfficiency,
  // Wh per 1M is 1e6 / (tpw · 3600): fewest Wh is the highest tokens per watt.
  whPer1M: byEfficiency,
  throughput: sql`m.tps_bucket desc nulls last`,
  ttft: sql`m.ttft_bucket asc nulls last`,
  cput: sql`m.cput_per1m asc nulls last`,
  standardCost: standardCostSql,
  standardLatency: sql`m.standard_latency_ms asc nulls last`,
  name: sql`m.name asc`,
};

type Row = {
  total: number;
  id: string;
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

function toItem(r: Row): MarketplaceItem {
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
    economy: null,
  };
}

/** Published listings with their price in force at `now`, filtered, sorted best first, one page. */
export async function listMarketplace(db: DbOrTx, p: z.input<typeof marketplaceInput> & { now?: Date }) {
  const now = p.now ?? new Date();
  const f = marketplaceInput.parse(p);
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
    where.push(
      sql`${comparablePer1MSql({ inputPer1k: sql`p.input_per1k_nano`, outputPer1k: sql`p.output_per1k_nano`, modalities: sql`l.modalities` })} <= ${max.toString()}::numeric`,
    );
  }
  const order = sql`${sortSql[f.sort]}, m.slug asc`;
  const economyJoin = economyJoinSql(f.sort, f.window);
  // Two phases (bench/catalog.ts): rank narrow rows of every match (counting them in the same pass),
  // then fetch the wide columns for one page only. `cur` is each listing's version in force at `now`,
  // read in one index-only pass over listing_prices_current_index instead of one lookup per listing.
  const ranked = (limit: number, offset: number) => sql`
    with cur as (${pricesInForceAtSql(sql`true`, sql`${now.toISOString()}::timestamptz`)})
    select m.*, count(*) over ()::int as total
    from (
      select l.id, l.slug, l.name, l.modalities, l.tokens_per_watt, p.input_per1k_nano, p.output_per1k_nano, p.cached_input_per1k_nano,
             ec.tps_bucket, ec.ttft_bucket, ec.cput_per1m, ec.measured_tpj, ec.standard_latency_ms
      from listings l
      join organizations o on o.id = l.org_id
      join cur p on p.listing_id = l.id
      ${economyJoin}
      where ${sql.join(where, sql` and `)}
    ) m
    order by ${order} limit ${limit} offset ${offset}`;
  const result = await db.execute<Row>(sql`
    select m.total, m.id, l.slug, l.name, l.family, o.slug as org_slug, o.name as org_name, l.context_length,
           l.modalities::text[] as modalities, l.tokens_per_watt, l.grid_carbon_g_per_kwh,
           l.energy_method, l.energy_hardware, l.region,
           m.input_per1k_nano, m.output_per1k_nano, m.cached_input_per1k_nano
    from (${ranked(f.pageSize, (f.page - 1) * f.pageSize)}) m
    join listings l on l.id = m.id
    join organizations o on o.id = l.org_id
    order by ${order}`);
  // A page past the last has no row to carry the count: count from the first row instead.
  const total =
    result.rows[0]?.total ?? (f.page > 1 ? ((await db.execute<{ total: number }>(sql`select total from (${ranked(1, 0)}) r`)).rows[0]?.total ?? 0) : 0);
  const items = result.rows.map(toItem);
  const [measured, economy, asOf] = await Promise.all([
    measuredStats(db, { from: windowStart(now), listingIds: items.map((i) => i.id) }),
    listingEconomies(db, { listings: items, window: f.window }),
    economyAsOf(db),
  ]);
  for (const item of items) item.measured = measured.get(item.id) ?? null;
  for (const item of items) item.economy = economy.get(item.id) ?? null;
  return { items, total, page: f.page, pageSize: f.pageSize, sort: f.sort, window: f.window, economyAsOf: asOf };
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
export async function compareFamily(db: DbOrTx, p: { family: string; window?: EconomyWindow; now?: Date }) {
  const family = p.family;
  const { items, economyAsOf: asOf } = await listMarketplace(db, { family, sort: "price", pageSize: 100, window: p.window, now: p.now });
  // Most efficient by measured tokens per joule where the sample suffices, else declared.
  const efficiency = (i: MarketplaceItem) =>
    efficiencyFigure(i.economy?.energy.tokensPerJoule ?? null, i.economy?.energy.sampleTokens ?? 0, i.tokensPerWatt).tokensPerWatt;
  const mostEfficient = items.reduce<MarketplaceItem | null>(
    (best, i) => (efficiency(i) !== null && (best === null || efficiency(i)! > efficiency(best)!) ? i : best),
    null,
  );
  const cputOf = (i: MarketplaceItem) => (i.economy?.cput.state === "measured" ? i.economy.cput.per1MNano : null);
  const lowestCput = items.reduce<MarketplaceItem | null>((best, i) => (cputOf(i) !== null && (best === null || cputOf(i)! < cputOf(best)!) ? i : best), null);
  return {
    family,
    listings: items,
    cheapestId: items[0]?.id ?? null,
    mostEfficientId: mostEfficient?.id ?? null,
    lowestCputId: lowestCput?.id ?? null,
    economyAsOf: asOf,
  };
}

/** A published (or paused) listing's public page: prices, history, energy. Drafts do not exist here. */
export async function listingDetail(db: DbOrTx, p: { slug: string; window?: EconomyWindow; now?: Date }) {
  const now = p.now ?? new Date();
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
      tokenizer: listings.tokenizer,
      providerSlug: organizations.slug,
      providerName: organizations.name,
    })
    .from(listings)
    .innerJoin(organizations, eq(organizations.id, listings.orgId))
    .where(and(eq(listings.slug, p.slug), sql`${listings.status} <> 'draft'`));
  if (!l) throw new DomainError("NOT_FOUND", "No published model has that name", "slug");
  const history = await priceHistory(db, { listingId: l.id });
  const current = priceInForce(history, now.getTime());
  if (!current) throw new DomainError("NOT_FOUND", "No published model has that name", "slug");
  const window = p.window ?? DEFAULT_ECONOMY_WINDOW;
  const [measuredById, economy, asOf] = await Promise.all([
    measuredStats(db, { from: windowStart(now), listingIds: [l.id] }),
    listingEconomies(db, { listings: [{ id: l.id, prices: current }], window }),
    economyAsOf(db),
  ]);
  const measured = measuredById.get(l.id) ?? null;
  const { providerSlug, providerName, ...rest } = l;
  return {
    ...rest,
    provider: { slug: providerSlug, name: providerName },
    currentPrice: current,
    ...comparable(current, l.modalities),
    whPer1M: l.tokensPerWatt === null ? null : whPer1M(l.tokensPerWatt),
    gCo2Per1M: l.tokensPerWatt === null || l.gridCarbonGPerKwh === null ? null : gCo2Per1M(l.tokensPerWatt, l.gridCarbonGPerKwh),
    priceHistory: history,
    measured,
    economy: economy.get(l.id)!,
    economyAsOf: asOf,
  };
}
