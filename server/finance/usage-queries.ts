import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { pgArray } from "../lib/pg-array";
import { keysetPage, pageFetchSize } from "../lib/paging";
import { parseTimestamp } from "../lib/timestamps";
import { joinAccount, joinOpenHold } from "../ledger/reports";
import { MAX_EVENT_AGE_MS, windowFeeLegId } from "../usage/rules";
import { addTo } from "./compare";

/**
 * What finance reads of settlement's usage tables (db/schema/usage.ts, usage_events in
 * migration usage_events_by_id), behind one small interface so the reports, drill-downs
 * and exports do not depend on how usage is stored.
 *
 * A settlement window (server/usage/settler.ts) writes, in one transaction (so with one
 * now()): its usage_windows row, settled_at and window_id on the batches it took, one
 * usage_settlements row per (buyer, provider) with batch_id = the window, and transfers
 * with code usage and ref ('usage_window', window id): per buyer buyer_credits or
 * buyer_receivable → usage_clearing, per provider usage_clearing → provider_payable and
 * usage_clearing → platform_revenue (its fees). The transfers name no pair, so usage is
 * reconciled per party. Events settled before windows existed keep settlement_id and
 * settled_at; their transfers ref ('usage_settlement', settlement id), from the buyer's
 * account straight to the provider's payable or the platform's revenue.
 *
 * usage_events is partitioned by its UUIDv7 id's time, made when the request started and
 * at most MAX_EVENT_AGE (+ the settler's slack) before its window, so every query bounds
 * the id to let PostgreSQL skip the other months.
 */

export type Range = { from: Date; to: Date };

/** How far before its settlement an event's id may be: the settler's own bound (settler.ts aggregateWindow). */
const EVENT_AGE = MAX_EVENT_AGE_MS + 2 * 86_400_000;
/** How far after it: an id's time may run ahead of the server's clock by the accepted skew; a day of slack. */
const SKEW = 86_400_000;
const idsAround = (from: Date, to: Date) =>
  sql`e.id >= tm_uuid_floor(${new Date(from.getTime() - EVENT_AGE)}) and e.id < tm_uuid_floor(${new Date(to.getTime() + SKEW)})`;

/** A reference that may be cast to uuid (a hostile or mistaken ref_id must not fail the whole report). */
export const UUID_TEXT = "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$";

type Row = Record<string, unknown>;
const rows = async (db: DbOrTx, q: ReturnType<typeof sql>) => (await db.execute(q)).rows as Row[];

/** The parties usage is reconciled per: "buyer:<org>", "provider:<org>", "platform". */
export const buyerParty = (orgId: string) => `buyer:${orgId}`;
export const providerParty = (orgId: string) => `provider:${orgId}`;
export const PLATFORM_PARTY = "platform";

export type UsageByParty = {
  /**
   * Settled events' figures per party: a buyer's cost, a provider's cost − fee, the
   * platform's fees. Events settled in the range: of the batches a window settled in it,
   * and legacy events by their settled_at.
   */
  eventsNano: Map<string, bigint>;
  /** Usage transfers (less their reversals) created in the range, per the party whose account they move. */
  transfersNano: Map<string, bigint>;
  /** Windows whose legs in the range do not net usage_clearing to zero: into it less out of it. */
  unbalancedWindows: { windowId: string; netNano: bigint }[];
  /** Usage transfers in the range that name no existing window or settlement, or move accounts usage never moves. */
  unattributed: { transferId: string; amountNano: bigint; detail: string }[];
};

const BUYER_KINDS = new Set(["buyer_credits", "buyer_receivable"]);

/** Both sides of the usage reconciliation: the events themselves, and the ledger's usage transfers attributed by their accounts. */
export async function usageByParty(db: DbOrTx, range: Range): Promise<UsageByParty> {
  const events = await rows(
    db,
    sql`with b as (select seq from usage_batches where settled_at >= ${range.from} and settled_at < ${range.to})
        select e.org_id, e.provider_org_id, sum(e.cost_nano)::int8 as cost, sum(e.fee_nano)::int8 as fee
        from usage_events e join b on b.seq = e.batch_seq
        -- The batches' sequence range lets the BRIN index on batch_seq skip the rest of each partition.
        where e.batch_seq between (select min(seq) from b) and (select max(seq) from b) and ${idsAround(range.from, range.to)}
        group by 1, 2
        union all
        -- Legacy events (batch 0, copied first into their partitions, so BRIN finds them at the start) by their settled_at.
        select e.org_id, e.provider_org_id, sum(e.cost_nano)::int8, sum(e.fee_nano)::int8
        from usage_events e
        where e.batch_seq = 0 and e.settlement_id is not null and e.settled_at >= ${range.from} and e.settled_at < ${range.to}
        group by 1, 2`,
  );
  const eventsNano = new Map<string, bigint>();
  for (const r of events) {
    const cost = r.cost as bigint;
    const fee = r.fee as bigint;
    addTo(eventsNano, buyerParty(r.org_id as string), cost);
    addTo(eventsNano, providerParty(r.provider_org_id as string), cost - fee);
    addTo(eventsNano, PLATFORM_PARTY, fee);
  }
  for (const [k, v] of eventsNano) if (v === 0n) eventsNano.delete(k);

  // A reversal counts against the transfer it reverses: its reference, its accounts, the amount negated.
  const transfers = await rows(
    db,
    sql`select t.id, x.ref_kind, x.ref_id, d.kind as d_kind, d.org_id as d_org, c.kind as c_kind, c.org_id as c_org,
               case when t.code = 'reversal' then -t.amount_nano else t.amount_nano end as amount,
               w.id is not null as window_found, s.id is not null as settlement_found
        from ledger_transfers t
        left join ledger_transfers o on o.id = case when t.code = 'reversal' and t.ref_kind = 'ledger_transfer' and t.ref_id ~* ${UUID_TEXT} then t.ref_id::uuid end
        cross join lateral (select coalesce(o.ref_kind, t.ref_kind) as ref_kind, coalesce(o.ref_id, t.ref_id) as ref_id,
                                   coalesce(o.debit_account_id, t.debit_account_id) as debit, coalesce(o.credit_account_id, t.credit_account_id) as credit) x
        ${joinAccount("d", "x.debit", "left join")}
        ${joinAccount("c", "x.credit", "left join")}
        left join usage_windows w on w.id = case when x.ref_kind = 'usage_window' and x.ref_id ~* ${UUID_TEXT} then x.ref_id::uuid end
        left join usage_settlements s on s.id = case when x.ref_kind = 'usage_settlement' and x.ref_id ~* ${UUID_TEXT} then x.ref_id::uuid end
        where t.created_at >= ${range.from} and t.created_at < ${range.to} and t.type in ('single', 'post_pending')
          and (t.code = 'usage' or (t.code = 'reversal' and o.code = 'usage'))
        order by t.created_at, t.id`,
  );
  const transfersNano = new Map<string, bigint>();
  const clearingNet = new Map<string, bigint>();
  const unattributed: UsageByParty["unattributed"] = [];
  for (const r of transfers) {
    const amount = r.amount as bigint;
    const stray = (detail: string) => unattributed.push({ transferId: r.id as string, amountNano: amount, detail });
    const toParty = r.c_kind === "provider_payable" ? providerParty(r.c_org as string) : r.c_kind === "platform_revenue" ? PLATFORM_PARTY : null;
    if (r.window_found) {
      if (BUYER_KINDS.has(r.d_kind as string) && r.c_kind === "usage_clearing") {
        addTo(transfersNano, buyerParty(r.d_org as string), amount);
        addTo(clearingNet, r.ref_id as string, amount);
      } else if (r.d_kind === "usage_clearing" && toParty) {
        addTo(transfersNano, toParty, amount);
        addTo(clearingNet, r.ref_id as string, -amount);
      } else stray(`usage transfer of window ${r.ref_id as string} from ${r.d_kind ?? "an unknown account"} to ${r.c_kind ?? "an unknown account"}`);
    } else if (r.settlement_found) {
      if (BUYER_KINDS.has(r.d_kind as string) && toParty) {
        addTo(transfersNano, buyerParty(r.d_org as string), amount);
        addTo(transfersNano, toParty, amount);
      } else stray(`usage transfer of settlement ${r.ref_id as string} from ${r.d_kind ?? "an unknown account"} to ${r.c_kind ?? "an unknown account"}`);
    } else stray("usage transfer with no settlement window or record");
  }
  const unbalancedWindows = [...clearingNet].filter(([, net]) => net !== 0n).map(([windowId, netNano]) => ({ windowId, netNano }));
  return { eventsNano, transfersNano, unbalancedWindows, unattributed };
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

/**
 * What a usage transfer settled: its window (or legacy settlement) and the party whose
 * events it carries, with those events' totals. A buyer's leg carries the buyer's events;
 * a provider's payable leg and its fee leg (one per provider) that provider's. A fee leg
 * names only the platform's account; its id (windowFeeLegId) says whose fees it carries.
 */
export type UsageSource = {
  kind: "usage_window" | "usage_settlement";
  id: string;
  settledAt: Date;
  buyerOrgId: string | null;
  providerOrgIds: string[];
  events: number;
  costNano: bigint;
  feeNano: bigint;
};

async function usageSourceOf(db: DbOrTx, transferId: string): Promise<UsageSource | null> {
  const [t] = await rows(
    db,
    sql`select t.ref_kind, t.ref_id, t.amount_nano, d.kind as d_kind, d.org_id as d_org, c.kind as c_kind, c.org_id as c_org
        from ledger_transfers t ${joinAccount("d", "t.debit_account_id")} ${joinAccount("c", "t.credit_account_id")}
        where t.id = ${transferId}::uuid and t.ref_kind in ('usage_window', 'usage_settlement') and t.ref_id ~* ${UUID_TEXT}`,
  );
  if (!t) return null;
  if (t.ref_kind === "usage_settlement") {
    const [s] = await rows(db, sql`select * from usage_settlements where id = ${t.ref_id as string}::uuid`);
    if (!s) return null;
    return {
      kind: "usage_settlement",
      id: s.id as string,
      settledAt: parseTimestamp(s.created_at),
      buyerOrgId: s.buyer_org_id as string,
      providerOrgIds: [s.provider_org_id as string],
      events: s.events as number,
      costNano: s.cost_nano as bigint,
      feeNano: s.fee_nano as bigint,
    };
  }
  const [w] = await rows(db, sql`select id, created_at from usage_windows where id = ${t.ref_id as string}::uuid`);
  if (!w) return null;
  const buyerOrgId = BUYER_KINDS.has(t.d_kind as string) ? (t.d_org as string) : null;
  const byProvider = await rows(
    db,
    sql`select provider_org_id, sum(events)::int8 as events, sum(cost_nano)::int8 as cost, sum(fee_nano)::int8 as fee
        from usage_settlements
        -- A window's rows carry its time (the created_at index finds them; batch_id has none).
        where created_at = (select created_at from usage_windows where id = ${w.id as string}::uuid) and batch_id = ${w.id as string}::uuid
          ${buyerOrgId ? sql`and buyer_org_id = ${buyerOrgId}::uuid` : sql``}
        group by 1 order by 1`,
  );
  const mine = buyerOrgId
    ? byProvider
    : t.c_kind === "provider_payable"
      ? byProvider.filter((r) => r.provider_org_id === t.c_org)
      : t.c_kind === "platform_revenue"
        ? byProvider.filter((r) => windowFeeLegId(w.id as string, r.provider_org_id as string) === transferId.toLowerCase())
        : [];
  return {
    kind: "usage_window",
    id: w.id as string,
    settledAt: parseTimestamp(w.created_at),
    buyerOrgId,
    providerOrgIds: buyerOrgId ? [] : mine.map((r) => r.provider_org_id as string),
    events: mine.reduce((a, r) => a + Number(r.events), 0),
    costNano: mine.reduce((a, r) => a + (r.cost as bigint), 0n),
    feeNano: mine.reduce((a, r) => a + (r.fee as bigint), 0n),
  };
}

/** The events a usage transfer settled (its party's events of its window, or its legacy settlement's), ordered by event id, paged. */
export async function usageEventsOfTransfer(
  db: DbOrTx,
  p: { transferId: string; after?: string | null; limit: number },
): Promise<{ source: UsageSource | null; events: UsageEventRow[]; nextCursor: string | null }> {
  const source = await usageSourceOf(db, p.transferId);
  if (!source || (source.kind === "usage_window" && !source.buyerOrgId && !source.providerOrgIds.length)) return { source, events: [], nextCursor: null };
  const at = source.settledAt;
  const which =
    source.kind === "usage_settlement"
      ? // Settlement wrote the events and their settlement row in one transaction: the same now().
        sql`e.settlement_id = ${source.id}::uuid and e.settled_at = (select created_at from usage_settlements where id = ${source.id}::uuid)`
      : sql`e.batch_seq = any(array(select seq from usage_batches where window_id = ${source.id}::uuid)) and ${idsAround(at, at)}
            ${source.buyerOrgId ? sql`and e.org_id = ${source.buyerOrgId}::uuid` : sql`and e.provider_org_id = any(${pgArray(source.providerOrgIds)}::uuid[])`}`;
  const found = await rows(
    db,
    sql`select e.id, e.started_at, e.key_id, l.slug, e.input_tokens, e.output_tokens, e.cached_input_tokens, e.cost_nano, e.fee_nano, e.status
        from usage_events e join listings l on l.id = e.listing_id
        where ${which} ${p.after ? sql`and e.id > ${p.after}::uuid` : sql``}
        order by e.id limit ${pageFetchSize(p.limit)}`,
  );
  const { items: events, nextCursor } = keysetPage(
    found,
    p.limit,
    (r) => r.id as string,
    (r): UsageEventRow => ({
      id: r.id as string,
      startedAt: parseTimestamp(r.started_at),
      keyId: r.key_id as string,
      listingSlug: r.slug as string,
      inputTokens: r.input_tokens as number,
      outputTokens: r.output_tokens as number,
      cachedInputTokens: r.cached_input_tokens as number,
      costNano: r.cost_nano as bigint,
      feeNano: r.fee_nano as bigint,
      status: r.status as string,
    }),
  );
  return { source, events, nextCursor };
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
  return found.map((r) => ({
    keyId: r.key_id as string,
    keyName: r.key_name as string,
    listingSlug: r.slug as string,
    requests: r.requests as bigint,
    costNano: r.cost as bigint,
  }));
}

/** Money held by open reservations per buyer organisation: each reservation's current hold while its ledger hold is open. */
export async function openReservationsByOrg(db: DbOrTx): Promise<Map<string, bigint> | null> {
  const found = await rows(
    db,
    sql`select r.org_id, sum(r.held_nano)::int8 as held
        from reservations r ${joinOpenHold("r.hold_transfer_id")}
        group by 1`,
  );
  return new Map(found.filter((r) => (r.held as bigint) !== 0n).map((r) => [r.org_id as string, r.held as bigint]));
}

export type UsageConflictRow = {
  id: string;
  fingerprint: string;
  reports: number;
  firstReportedAt: Date;
  lastReportedAt: Date;
  event: unknown;
  reviewed: boolean;
};

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
    firstReportedAt: parseTimestamp(r.first_reported_at),
    lastReportedAt: parseTimestamp(r.last_reported_at),
    event: r.event,
    reviewed: r.reviewed as boolean,
  }));
}
