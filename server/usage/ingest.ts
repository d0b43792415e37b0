import { sql } from "drizzle-orm";
import { executePrepared, type Tx } from "../../db/client";
import { inForceSql, pricePeriodsSql } from "../catalog/price-in-force-sql";
import { holdIsOpen } from "../ledger/pending";
import { pgArray } from "../lib/pg-array";
import type { UsageEvent } from "./contract";
import { MAX_EVENT_COST_NANO } from "./rules";

/**
 * Stage 1 of settlement, inside the report's transaction: append the batch's new events,
 * priced, to usage_events and record the batch, locking no row that another report shares
 * (the capped path below locks only its own reservations). The ledger, rollups and
 * counters are the settler's (./settler.ts), which takes committed batches window by window.
 *
 * One statement: unnest the batch (timestamps as epoch milliseconds), price each event by
 * a hash join on its listing's price periods at startedAt, compute cost and fee with the
 * overflow check, and `INSERT … ON CONFLICT (id) DO NOTHING RETURNING`: the primary key of
 * usage_events (partitioned by the id's time) is the claim, so an id is billed once forever.
 */

/**
 * The part of an event's cost billed for its input, fixed here beside its cost, at the price version it is
 * billed at (`p`) and never more than it is billed (`c.cost_nano`, after a capped event's cap):
 * tm_input_cost_nano (migration 0033), the SQL twin of inputCostNano (server/economy/cput.ts). The rollups sum
 * the stored column (server/rollups/upserts.ts), so no later reader looks the price version up again.
 */
const INPUT_COST_SQL = sql.raw("tm_input_cost_nano(p.input_tokens, p.cached_input_tokens, p.input_per1k_nano, p.cached_input_per1k_nano, c.cost_nano)");

/** An event that passed intake: its buyer and provider known, `capped` when reported by a provider's token. */
export type IngestEvent = { event: UsageEvent; fingerprint: string; orgId: string; providerOrgId: string; capped: boolean };

export type Ingested = {
  /** New events and their cost. */
  settled: Map<string, bigint>;
  /** No price in force at startedAt. */
  unpriced: Set<string>;
  /** Would cost more than MAX_EVENT_COST_NANO. */
  tooCostly: Set<string>;
  /** The batch the new events went into (null when there were none). */
  batchSeq: number | null;
};

/** `shard`: the usage bus shard the events came from (0 over HTTP): the batch waits for that shard's windows. */
export async function ingestBatch(tx: Tx, p: { events: readonly IngestEvent[]; defaultFeeBps: number; now: Date; shard: number }): Promise<Ingested> {
  const { events, defaultFeeBps, now, shard } = p;
  // Sorted ids: concurrent reports that carry the same ids claim them in the same order.
  const sorted = [...events].sort((a, b) => (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0));
  const col = (f: (c: IngestEvent) => string | number | boolean | null) => pgArray(sorted.map(f));
  const capping = [...new Set(sorted.flatMap((c) => (c.capped && c.event.reservationId ? [c.event.reservationId.toLowerCase()] : [])))].sort();
  // A provider's reservations are locked before they are read (release and the settler take the same order).
  if (capping.length) await tx.execute(sql`select id from reservations where id = any(${pgArray(capping)}::uuid[]) order by id for update`);
  // Prepared once per connection and planned once (a generic plan; partitions are pruned at run time):
  // planning this statement for each batch's values cost more than running it on 1 000 events.
  await tx.execute(sql`set local plan_cache_mode = force_generic_plan`);
  const { rows } = await executePrepared<{ seq: string | null; settled: [string, string][] | null; unpriced: string[] | null; too_costly: string[] | null }>(
    tx,
    "tm_usage_stage1",
    sql`
WITH input AS (
  SELECT * FROM unnest(
    ${col((c) => c.event.id)}::uuid[], ${col((c) => c.event.reservationId)}::uuid[], ${col((c) => c.event.keyId)}::uuid[],
    ${col((c) => c.event.listingId)}::uuid[], ${col((c) => c.event.inputTokens)}::int4[], ${col((c) => c.event.outputTokens)}::int4[],
    ${col((c) => c.event.cachedInputTokens)}::int4[], ${col((c) => c.event.startedAt.getTime())}::int8[], ${col((c) => c.event.firstTokenAt?.getTime() ?? null)}::int8[],
    ${col((c) => c.event.endedAt.getTime())}::int8[], ${col((c) => c.event.status)}::text[], ${col((c) => c.event.estimated)}::bool[],
    ${col((c) => c.event.upstreamStatus)}::int2[], ${col((c) => c.fingerprint)}::uuid[], ${col((c) => c.orgId)}::uuid[],
    ${col((c) => c.providerOrgId)}::uuid[], ${col((c) => c.capped)}::bool[], ${col((c) => c.event.finishReason ?? null)}::text[],
    ${col((c) => c.event.energyJoules ?? null)}::float8[]
  ) WITH ORDINALITY AS i(id, reservation_id, key_id, listing_id, input_tokens, output_tokens, cached_input_tokens, started_ms, first_token_ms,
                         ended_ms, status, estimated, upstream_status, fingerprint, org_id, provider_org_id, capped, finish_reason, energy_joules, n)
),
-- Each listing's price periods: a version is in force from its effective_from to the next one's.
periods AS (
  ${pricePeriodsSql(sql`lp.listing_id IN (SELECT DISTINCT listing_id FROM input)`)}
),
timed AS (
  SELECT i.*, timestamptz 'epoch' + i.started_ms * interval '1 millisecond' AS started_at FROM input i
),
-- The exact sum is compared before it is rounded into int8: an event past MAX_EVENT_COST_NANO is left out alone, never aborting the batch.
priced AS (
  SELECT i.*, p.id AS price_id, p.input_per1k_nano, p.cached_input_per1k_nano,
         CASE WHEN i.input_tokens::numeric * p.input_per1k_nano + i.output_tokens::numeric * p.output_per1k_nano
                   + i.cached_input_tokens::numeric * p.cached_input_per1k_nano <= ${MAX_EVENT_COST_NANO * 1000n}::numeric
              THEN tm_usage_cost(i.input_tokens, i.output_tokens, i.cached_input_tokens, p.input_per1k_nano, p.output_per1k_nano, p.cached_input_per1k_nano)
         END AS full_cost
  FROM timed i JOIN periods p ON p.listing_id = i.listing_id AND ${inForceSql(sql`p`, sql`i.started_at`)}
),
-- What each capped reservation (locked above) may still bill: its open, unexpired hold less the usage accepted and not yet settled.
room AS (
  SELECT r.id, r.held_nano - r.pending_usage_nano AS room_nano
  FROM reservations r
  WHERE ${holdIsOpen("r.hold_transfer_id")} AND r.id IN (SELECT reservation_id FROM input WHERE capped) AND r.expires_at > ${now}
),
fresh AS (
  SELECT p.*, NOT EXISTS (SELECT 1 FROM usage_events u WHERE u.id = p.id) AS fresh FROM priced p WHERE p.capped
),
-- A capped event bills at most its reservation's room less what the batch's earlier new events took of it.
capped_cost AS (
  SELECT f.id, greatest(0, least(f.full_cost, coalesce(r.room_nano, 0) - coalesce(sum(CASE WHEN f.fresh THEN f.full_cost ELSE 0 END)
           OVER (PARTITION BY f.reservation_id ORDER BY f.n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)))::int8 AS cost_nano
  FROM fresh f LEFT JOIN room r ON r.id = f.reservation_id
  WHERE f.full_cost IS NOT NULL
),
batch AS (SELECT nextval('usage_batches_seq_seq') AS seq),
ins AS (
  INSERT INTO usage_events (id, started_at, first_token_at, ended_at, org_id, key_id, listing_id, provider_org_id, reservation_id,
                            input_tokens, output_tokens, cached_input_tokens, status, estimated, upstream_status, price_id, cost_nano, fee_nano,
                            fingerprint, batch_seq, finish_reason, energy_joules, input_cost_nano)
  SELECT p.id, p.started_at, timestamptz 'epoch' + p.first_token_ms * interval '1 millisecond', timestamptz 'epoch' + p.ended_ms * interval '1 millisecond',
         p.org_id, p.key_id, p.listing_id, p.provider_org_id, p.reservation_id, p.input_tokens, p.output_tokens, p.cached_input_tokens,
         p.status, p.estimated, p.upstream_status, p.price_id, c.cost_nano, tm_fee_nano(c.cost_nano, coalesce(o.fee_bps, ${defaultFeeBps}::int)),
         p.fingerprint, (SELECT seq FROM batch), p.finish_reason, p.energy_joules, ${INPUT_COST_SQL}
  FROM priced p
  CROSS JOIN LATERAL (SELECT CASE WHEN p.capped THEN (SELECT cc.cost_nano FROM capped_cost cc WHERE cc.id = p.id) ELSE p.full_cost END AS cost_nano) c
  LEFT JOIN provider_fee_overrides o ON o.org_id = p.provider_org_id
  WHERE p.full_cost IS NOT NULL
  ORDER BY p.n
  ON CONFLICT (id) DO NOTHING
  RETURNING id, cost_nano, reservation_id, provider_org_id
),
recorded AS (
  INSERT INTO usage_batches (seq, events, received_at, shard) OVERRIDING SYSTEM VALUE
  SELECT seq, (SELECT count(*) FROM ins), ${now}, ${shard}::int2 FROM batch WHERE EXISTS (SELECT 1 FROM ins)
  RETURNING seq
),
pending AS (
  UPDATE reservations r SET pending_usage_nano = r.pending_usage_nano + u.used
  FROM (SELECT ins.reservation_id, sum(ins.cost_nano) AS used FROM ins JOIN input i ON i.id = ins.id AND i.capped GROUP BY 1) u
  WHERE r.id = u.reservation_id
)
SELECT
  (SELECT seq::text FROM recorded) AS seq,
  (SELECT json_agg(json_build_array(id, cost_nano::text)) FROM ins) AS settled,
  (SELECT json_agg(id) FROM input WHERE NOT EXISTS (SELECT 1 FROM priced WHERE priced.id = input.id)) AS unpriced,
  (SELECT json_agg(id) FROM priced WHERE full_cost IS NULL) AS too_costly`,
  );
  const row = rows[0]!;
  return {
    settled: new Map((row.settled ?? []).map(([id, cost]) => [id, BigInt(cost)])),
    unpriced: new Set(row.unpriced ?? []),
    tooCostly: new Set(row.too_costly ?? []),
    batchSeq: row.seq === null ? null : Number(row.seq),
  };
}

/** What stored events answer to a resend: their fingerprint and cost. */
export async function storedEvents(tx: Tx, p: { ids: readonly string[] }): Promise<Map<string, { fingerprint: string; costNano: bigint }>> {
  const { ids } = p;
  if (!ids.length) return new Map();
  const { rows } = await tx.execute<{ id: string; fingerprint: string; cost_nano: bigint }>(
    sql`select id, fingerprint, cost_nano from usage_events where id = any(${pgArray(ids)}::uuid[])`,
  );
  return new Map(rows.map((r) => [r.id, { fingerprint: r.fingerprint, costNano: BigInt(r.cost_nano) }]));
}

/** Unsettled batches, counted up to `limit` + 1 (the backlog check needs no more). */
export async function unsettledBatches(tx: Tx, p: { limit: number }): Promise<number> {
  const { limit } = p;
  const { rows } = await tx.execute<{ n: number }>(
    sql`select count(*)::int as n from (select 1 from usage_batches where settled_at is null limit ${limit + 1}) b`,
  );
  return rows[0]!.n;
}
