import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { toDate } from "./books";

/**
 * What finance reads of settlement's usage tables (db/schema/usage.ts, usage_events in
 * migration usage_functions), behind one small interface so the reports, drill-downs and
 * exports do not depend on how usage is stored.
 *
 * Settlement writes, in one transaction (so with one now()): the events (settled_at), one
 * usage_settlements row per (batch, buyer, provider), and the ledger transfers with code
 * usage and ref ('usage_settlement', settlement id). usage_events is partitioned by month
 * on started_at, and an event is at most 35 days old when settled (server/usage/rules.ts),
 * so every query below bounds started_at to let PostgreSQL skip the other months; within
 * them, a BRIN index on settled_at (events are appended in settlement order) finds a
 * settlement's or a period's events for almost nothing per insert.
 */

export type Range = { from: Date; to: Date };

/** How far before its settlement an event may have started: settlement's 35-day limit plus a day of slack. */
const EVENT_AGE = 36 * 86_400_000;
/** Clock skew settlement accepts for ended_at in the future, with slack. */
const SKEW = 86_400_000;

type Row = Record<string, unknown>;
const rows = async (db: DbOrTx, q: ReturnType<typeof sql>) => (await db.execute(q)).rows as Row[];

/** "buyerOrgId/providerOrgId": the key of per-pair usage figures. */
export const pairKey = (buyerOrgId: string, providerOrgId: string) => `${buyerOrgId}/${providerOrgId}`;

export type UsageByPair = {
  /** Sum of settled events' cost per (buyer, provider), events settled in the range. */
  eventsNano: Map<string, bigint>;
  /** Sum of usage transfers (less their reversals) per (buyer, provider), transfers created in the range. */
  transfersNano: Map<string, bigint>;
  /** Usage transfers in the range that name no settlement record. */
  unattributed: { transferId: string; amountNano: bigint }[];
};

/**
 * Both sides of the usage reconciliation: the events themselves (their own buyer,
 * provider and cost) and the ledger's usage transfers, attributed to (buyer, provider)
 * through the settlement record their reference names.
 */
export async function usageByPair(db: DbOrTx, range: Range): Promise<UsageByPair> {
  const events = await rows(
    db,
    sql`select org_id, provider_org_id, sum(cost_nano)::int8 as cost
        from usage_events
        where settled_at >= ${range.from} and settled_at < ${range.to}
          and started_at >= ${new Date(range.from.getTime() - EVENT_AGE)} and started_at < ${new Date(range.to.getTime() + SKEW)}
        group by 1, 2`,
  );
  const eventsNano = new Map<string, bigint>();
  for (const r of events) if ((r.cost as bigint) !== 0n) eventsNano.set(pairKey(r.org_id as string, r.provider_org_id as string), r.cost as bigint);

  const transfers = await rows(
    db,
    sql`select t.id, s.buyer_org_id, s.provider_org_id,
               case when t.code = 'reversal' then -t.amount_nano else t.amount_nano end as amount
        from ledger_transfers t
        left join ledger_transfers o on o.id = case when t.code = 'reversal' and t.ref_kind = 'ledger_transfer' then t.ref_id::uuid end
        left join usage_settlements s on s.id = case when coalesce(o.ref_kind, t.ref_kind) = 'usage_settlement' then coalesce(o.ref_id, t.ref_id)::uuid end
        where t.created_at >= ${range.from} and t.created_at < ${range.to} and t.type in ('single', 'post_pending')
          and (t.code = 'usage' or (t.code = 'reversal' and o.code = 'usage'))`,
  );
  const transfersNano = new Map<string, bigint>();
  const unattributed: UsageByPair["unattributed"] = [];
  for (const r of transfers) {
    if (!r.buyer_org_id) unattributed.push({ transferId: r.id as string, amountNano: r.amount as bigint });
    else {
      const key = pairKey(r.buyer_org_id as string, r.provider_org_id as string);
      transfersNano.set(key, (transfersNano.get(key) ?? 0n) + (r.amount as bigint));
    }
  }
  return { eventsNano, transfersNano, unattributed };
}

export type UsageEventRow = {
  id: string;
  startedAt: Date;
  keyId: string;
  listingSlug: string;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costNano: bigint;
  feeNano: bigint;
  status: string;
};

export type SettlementRow = { id: string; buyerOrgId: string; providerOrgId: string; events: number; costNano: bigint; feeNano: bigint; createdAt: Date };

/** The events a usage transfer settled (through its settlement record), ordered by event id, paged. */
export async function usageEventsOfTransfer(
  db: DbOrTx,
  p: { transferId: string; after?: string | null; limit: number },
): Promise<{ settlement: SettlementRow | null; events: UsageEventRow[]; nextCursor: string | null }> {
  const [s] = await rows(
    db,
    sql`select s.*, s.created_at::text as settled_text from ledger_transfers t
        join usage_settlements s on s.id = case when t.ref_kind = 'usage_settlement' then t.ref_id::uuid end
        where t.id = ${p.transferId}::uuid`,
  );
  if (!s) return { settlement: null, events: [], nextCursor: null };
  const settledAt = toDate(s.created_at);
  const found = await rows(
    db,
    sql`select e.id, e.started_at, e.key_id, l.slug, e.input_tokens, e.output_tokens, e.cached_input_tokens, e.cost_nano, e.fee_nano, e.status
        from usage_events e join listings l on l.id = e.listing_id
        where e.settlement_id = ${s.id as string}::uuid
          -- Settlement writes the events and their settlement row in one transaction: the same now().
          and e.settled_at = ${s.settled_text as string}::timestamptz
          and e.started_at >= ${new Date(settledAt.getTime() - EVENT_AGE)} and e.started_at <= ${new Date(settledAt.getTime() + SKEW)}
          ${p.after ? sql`and e.id > ${p.after}::uuid` : sql``}
        order by e.id limit ${p.limit + 1}`,
  );
  const events = found.slice(0, p.limit).map((r) => ({
    id: r.id as string,
    startedAt: toDate(r.started_at),
    keyId: r.key_id as string,
    listingSlug: r.slug as string,
    inputTokens: r.input_tokens as number,
    outputTokens: r.output_tokens as number,
    cachedInputTokens: r.cached_input_tokens as number,
    costNano: r.cost_nano as bigint,
    feeNano: r.fee_nano as bigint,
    status: r.status as string,
  }));
  return {
    settlement: {
      id: s.id as string,
      buyerOrgId: s.buyer_org_id as string,
      providerOrgId: s.provider_org_id as string,
      events: s.events as number,
      costNano: s.cost_nano as bigint,
      feeNano: s.fee_nano as bigint,
      createdAt: settledAt,
    },
    events,
    nextCursor: found.length > p.limit ? events[events.length - 1]!.id : null,
  };
}

export type UsageCostRow = { keyId: string; keyName: string; listingSlug: string; requests: bigint; costNano: bigint };

/** A buyer's usage cost in the range (by the hour the requests started) by key and listing, from settlement's hourly rollups. */
export async function usageCostByKeyAndListing(db: DbOrTx, p: { orgId: string } & Range): Promise<UsageCostRow[]> {
  const found = await rows(
    db,
    sql`select h.key_id, k.name as key_name, l.slug, sum(h.requests)::int8 as requests, sum(h.cost_nano)::int8 as cost
        from usage_hourly h join api_keys k on k.id = h.key_id join listings l on l.id = h.listing_id
        where h.org_id = ${p.orgId}::uuid and h.hour >= ${p.from} and h.hour < ${p.to}
        group by 1, 2, 3 order by cost desc, 2, 3`,
  );
  return found.map((r) => ({ keyId: r.key_id as string, keyName: r.key_name as string, listingSlug: r.slug as string, requests: r.requests as bigint, costNano: r.cost as bigint }));
}

/** Money held by open reservations per buyer organisation: each reservation's current hold while its ledger hold is open. */
export async function openReservationsByOrg(db: DbOrTx): Promise<Map<string, bigint> | null> {
  const found = await rows(
    db,
    sql`select r.org_id, sum(r.held_nano)::int8 as held
        from reservations r join ledger_pending p on p.pending_id = r.hold_transfer_id and p.status = 'open'
        group by 1`,
  );
  return new Map(found.filter((r) => (r.held as bigint) !== 0n).map((r) => [r.org_id as string, r.held as bigint]));
}

export type UsageConflictRow = { id: string; fingerprint: string; reports: number; firstReportedAt: Date; lastReportedAt: Date; event: unknown; reviewed: boolean };

/** Conflicting usage reports first seen in the range (settlement keeps them unbilled), with finance's review if any. */
export async function usageConflicts(db: DbOrTx, range: Range): Promise<UsageConflictRow[]> {
  const found = await rows(
    db,
    sql`select c.*, r.conflict_id is not null as reviewed
        from usage_conflicts c left join usage_conflict_reviews r on r.conflict_id = c.id::text || ':' || c.fingerprint::text
        where c.first_reported_at >= ${range.from} and c.first_reported_at < ${range.to}
        order by c.first_reported_at, c.id`,
  );
  return found.map((r) => ({
    id: `${r.id as string}:${r.fingerprint as string}`,
    fingerprint: r.fingerprint as string,
    reports: r.reports as number,
    firstReportedAt: toDate(r.first_reported_at),
    lastReportedAt: toDate(r.last_reported_at),
    event: r.event,
    reviewed: r.reviewed as boolean,
  }));
}
