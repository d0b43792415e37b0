import { sql, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { windowStart } from "../catalog/measured";
import { inForceSql, pricePeriodsSql } from "../catalog/price-in-force-sql";
import { pgArray } from "../lib/pg-array";
import { type Cput, costPerUsefulToken, MIN_CPUT_REQUESTS, nominalPer1MNano } from "./cput";
import { energyVerdict, type EnergyVerdict, measuredTokensPerJoule } from "./energy";
import { ECONOMY_WINDOWS, type EconomyWindow, ENERGY_WINDOW_HOURS } from "./windows";

/**
 * The token-economy figures of listings and buyers, read from the hourly rollups settlement keeps
 * (listing_hourly, org_usage_hourly) and providers' meter readings; never from raw events.
 */

/** The first hour inside a window ending now. */
export const economyFrom = (now: Date, window: EconomyWindow) => windowStart(now, ECONOMY_WINDOWS[window]);

/**
 * Per listing with traffic since `from`: the CPUT sums (listing_id, requests, cost_nano, wasted_nano,
 * useful, input_cost_nano) and `cput_1m`, billed · 1e6 / useful as numeric (null below
 * MIN_CPUT_REQUESTS or without useful output), which orders like the rounded figure. `scope` is a condition on `l`.
 */
export function listingCputSql(from: Date, scope: SQL = sql`true`): SQL {
  return sql`
    select h.listing_id, sum(h.requests)::int8 as requests, sum(h.cost_nano)::int8 as cost_nano, sum(h.wasted_cost_nano)::int8 as wasted_nano,
           sum(h.useful_output_tokens)::int8 as useful, sum(h.input_cost_nano)::int8 as input_cost_nano,
           case when sum(h.requests) >= ${MIN_CPUT_REQUESTS} and sum(h.useful_output_tokens) > 0
                then sum(h.cost_nano)::numeric * 1000000 / sum(h.useful_output_tokens) end as cput_1m
    from listing_hourly h join listings l on l.id = h.listing_id
    where h.hour >= ${from.toISOString()}::timestamptz and ${scope}
    group by h.listing_id`;
}

/**
 * Per listing with measured energy since `from`: tokens, joules and hours covered, the SQL twin of
 * mergeEnergyHours (./energy.ts): an hour's meter reading replaces its events' reports.
 */
export function listingEnergySql(from: Date, scope: SQL = sql`true`): SQL {
  const f = sql`${from.toISOString()}::timestamptz`;
  return sql`
    select x.listing_id, sum(x.tokens)::float8 as tokens, sum(x.joules)::float8 as joules, count(*)::int as hours
    from (
      select coalesce(r.listing_id, h.listing_id) as listing_id,
             case when r.tokens_served > 0 and r.joules > 0 then r.tokens_served else h.energy_tokens end as tokens,
             case when r.tokens_served > 0 and r.joules > 0 then r.joules else h.energy_joules end as joules
      from (select h.listing_id, h.hour, h.energy_tokens, h.energy_joules from listing_hourly h join listings l on l.id = h.listing_id
            where h.hour >= ${f} and h.energy_tokens > 0 and ${scope}) h
      full join (select r.listing_id, r.hour, r.tokens_served, r.joules from listing_energy_readings r join listings l on l.id = r.listing_id
                 where r.hour >= ${f} and ${scope}) r
        on r.listing_id = h.listing_id and r.hour = h.hour
    ) x
    where x.tokens > 0 and x.joules > 0
    group by x.listing_id`;
}

type CputRow = { listing_id: string; requests: bigint; cost_nano: bigint; wasted_nano: bigint; useful: bigint; input_cost_nano: bigint };

/** A rollup row's sums as a CputSample. */
export const cputOf = (r: Omit<CputRow, "listing_id">): Cput =>
  costPerUsefulToken({
    requests: Number(r.requests),
    billedNano: BigInt(r.cost_nano),
    wastedNano: BigInt(r.wasted_nano),
    usefulOutputTokens: BigInt(r.useful),
    inputCostNano: BigInt(r.input_cost_nano),
  });

const noTraffic: Cput = { state: "insufficient-sample", requests: 0, minimum: MIN_CPUT_REQUESTS };

/** A listing's measured energy over the last 30 days and how it compares with its declaration. */
export type ListingEnergy = { tokensPerJoule: number | null; sampleTokens: number; hours: number; verdict: EnergyVerdict };

/** Scope of a read: some listings, or a provider's. */
export type ListingScope = { listingIds?: readonly string[]; providerOrgId?: string };

function scopeSql(p: ListingScope): SQL {
  return sql.join(
    [
      sql`true`,
      ...(p.listingIds ? [sql`l.id = any(${pgArray([...p.listingIds])}::uuid[])`] : []),
      ...(p.providerOrgId ? [sql`l.org_id = ${p.providerOrgId}::uuid`] : []),
    ],
    sql` and `,
  );
}

/** CPUT per listing over `window` (every listing in scope, no traffic counting as an insufficient sample). */
export async function listingCput(db: DbOrTx, p: ListingScope & { window: EconomyWindow; now?: Date }): Promise<Map<string, Cput>> {
  if (p.listingIds?.length === 0) return new Map();
  const { rows } = await db.execute<CputRow>(listingCputSql(economyFrom(p.now ?? new Date(), p.window), scopeSql(p)));
  const found = new Map(rows.map((r) => [r.listing_id, cputOf(r)]));
  return new Map((p.listingIds ?? [...found.keys()]).map((id) => [id, found.get(id) ?? noTraffic]));
}

/** Measured energy per listing over the last 30 days, judged against each listing's declared tokens per watt. */
export async function listingEnergy(db: DbOrTx, p: ListingScope & { now?: Date }): Promise<Map<string, ListingEnergy>> {
  if (p.listingIds?.length === 0) return new Map();
  const from = windowStart(p.now ?? new Date(), ENERGY_WINDOW_HOURS);
  const { rows } = await db.execute<{ listing_id: string; declared: number | null; tokens: number | null; joules: number | null; hours: number | null }>(sql`
    select l.id as listing_id, l.tokens_per_watt as declared, e.tokens, e.joules, e.hours
    from listings l left join (${listingEnergySql(from, scopeSql(p))}) e on e.listing_id = l.id
    where ${scopeSql(p)}`);
  return new Map(
    rows.map((r) => {
      const sample = { tokens: Number(r.tokens ?? 0), joules: Number(r.joules ?? 0) };
      const tpj = measuredTokensPerJoule(sample);
      return [r.listing_id, { tokensPerJoule: tpj, sampleTokens: sample.tokens, hours: r.hours ?? 0, verdict: energyVerdict(tpj, sample.tokens, r.declared) }];
    }),
  );
}

/** A buyer's CPUT per model (listing) over `window`, from its own rollup rows only. */
export async function buyerCputByListing(db: DbOrTx, p: { orgId: string; window: EconomyWindow; now?: Date }) {
  const from = economyFrom(p.now ?? new Date(), p.window);
  const { rows } = await db.execute<CputRow & { slug: string }>(sql`
    select u.group_id as listing_id, l.slug, sum(u.requests)::int8 as requests, sum(u.cost_nano)::int8 as cost_nano,
           sum(u.wasted_cost_nano)::int8 as wasted_nano, sum(u.useful_output_tokens)::int8 as useful,
           sum(u.input_cost_nano)::int8 as input_cost_nano
    from org_usage_hourly u join listings l on l.id = u.group_id
    where u.org_id = ${p.orgId}::uuid and u.dimension = 1 and u.hour >= ${from.toISOString()}::timestamptz
    group by u.group_id, l.slug order by l.slug`);
  return rows.map((r) => ({ listingId: r.listing_id, slug: r.slug, costNano: BigInt(r.cost_nano), cput: cputOf(r) }));
}

/** A provider's listings' CPUT over `window` (those with traffic), with their nominal output price in force now. */
export async function providerCputByListing(db: DbOrTx, p: { orgId: string; window: EconomyWindow; now?: Date }) {
  const now = p.now ?? new Date();
  const { rows } = await db.execute<CputRow & { slug: string; output_per1k_nano: string | null }>(sql`
    select c.*, l.slug, cur.output_per1k_nano::text as output_per1k_nano
    from (${listingCputSql(economyFrom(now, p.window), sql`l.org_id = ${p.orgId}::uuid`)}) c join listings l on l.id = c.listing_id
    left join (${pricePeriodsSql(sql`lp.listing_id in (select id from listings where org_id = ${p.orgId}::uuid)`)}) cur
      on cur.listing_id = l.id and ${inForceSql(sql`cur`, sql`${now.toISOString()}::timestamptz`)}
    order by l.slug`);
  return rows.map((r) => ({
    listingId: r.listing_id,
    slug: r.slug,
    nominalPer1MNano: r.output_per1k_nano === null ? null : nominalPer1MNano(BigInt(r.output_per1k_nano)),
    cput: cputOf(r),
  }));
}
