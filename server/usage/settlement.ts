import { sql } from "drizzle-orm";
import type { z } from "zod";
import type { Db, Tx } from "../../db/client";
import type { ServiceIdentity } from "../auth/service-tokens";
import { lateColumns, lateSums, LISTING_METRICS, MINUTE_OF_STARTED_AT, ORG_USAGE_METRICS } from "../dashboards/late-parts";
import { nameUuid, uuidv7 } from "../lib/ids";
import { pgArray } from "../lib/pg-array";
import { recordUnfundedShares, setAsideTransfer, type UnfundedShare } from "../ledger/funding-store";
import { MAX_TRANSFERS_PER_POSTING, type TransferInput } from "../ledger/posting";
import { postTransfersBatch, voidPendingBatch } from "../ledger/service";
import { recordAnomalies, type AnomalyInput } from "./anomalies";
import { usageEvent, type eventResult, type UsageEvent } from "./contract";
import { formatUsd } from "../ledger/money";
import { consumeHold, eventFingerprint, MAX_EVENT_COST_NANO, fromCredits, splitGroups, timingProblem, zodReason, type SettlementGroup } from "./rules";
import { providerEventProblems, serviceOrgId } from "./service-scope";
import { accountIds, accountOf, asDate, ensurePartitions, lookupKeys, lookupListings, withRetry, type AccountIds, type AccountNeed, type KeyInfo, type ListingInfo } from "./store";

/**
 * `usage.report`: validates a batch of usage events and settles the new ones into the
 * ledger in one database transaction, exactly once per event id forever:
 *
 *  1. one statement claims the ids (usage_event_ids, `on conflict do nothing`), prices
 *     each new event at the listing's price in force at its start, inserts it into the
 *     month's usage_events partition and writes one usage_settlements row per
 *     (buyer, provider), and adds to the dashboard rollups (org_usage_hourly,
 *     listing_hourly, listing_latency_hourly);
 *  2. the reservations the new events spent from are locked, their holds voided and what
 *     remains re-held, and per (buyer, provider) the cost moves buyer_credits →
 *     provider_payable (cost − fee) and → platform_revenue (fee), from buyer_receivable
 *     for what the buyer's credit cannot cover (usage is a fact: it always posts), all
 *     in one batched posting;
 *  3. one statement adds the new events to key_spend_daily and usage_hourly.
 *
 * Within a process, concurrent reports are merged into one transaction at a time
 * (settleQueued). Across processes, locks are taken in one order by every writer (event ids sorted, then reservations,
 * their holds, ledger accounts in id order, then the counters in key order), so
 * concurrent batches do not deadlock;
 * if PostgreSQL still aborts one (or a crash does), nothing of it is kept and a retry or
 * resend settles it once.
 */

export type EventResult = z.infer<typeof eventResult>;
export type ReportOptions = { service: ServiceIdentity; defaultFeeBps: number; now?: Date };

/** `capped`: reported by a provider's token, so billed at most what its reservation holds. */
type Candidate = { index: number; event: UsageEvent; fingerprint: string; key: KeyInfo; listing: ListingInfo; capped: boolean };

const rejected = (id: string, reason: string): EventResult => ({ id, status: "rejected", costNano: null, reason });

function idOf(raw: unknown): string {
  const id = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === "string" ? id.slice(0, 64) : "";
}

export async function reportUsage(db: Db, rawEvents: readonly unknown[], opts: ReportOptions): Promise<EventResult[]> {
  const now = opts.now ?? new Date();
  const results: (EventResult | undefined)[] = new Array(rawEvents.length);
  const parsed: { index: number; event: UsageEvent; fingerprint: string }[] = [];
  // Later occurrences of an id within the batch, answered from the first one.
  const repeats: { index: number; first: number; fingerprint: string }[] = [];
  const firstIndex = new Map<string, number>();

  rawEvents.forEach((raw, index) => {
    const r = usageEvent.safeParse(raw);
    if (!r.success) return void (results[index] = rejected(idOf(raw), zodReason(r.error)));
    const event = { ...r.data, id: r.data.id.toLowerCase() };
    const problem = timingProblem(event, now);
    if (problem) return void (results[index] = rejected(event.id, problem));
    const fingerprint = eventFingerprint(event);
    const first = firstIndex.get(event.id);
    if (first !== undefined) return void repeats.push({ index, first, fingerprint });
    firstIndex.set(event.id, index);
    parsed.push({ index, event, fingerprint });
  });

  const keys = await lookupKeys(db, new Set(parsed.map((p) => p.event.keyId.toLowerCase())));
  const listings = await lookupListings(db, new Set(parsed.map((p) => p.event.listingId.toLowerCase())));
  let candidates: Candidate[] = [];
  const capped = opts.service.kind === "provider";
  for (const p of parsed) {
    const key = keys.get(p.event.keyId.toLowerCase());
    const listing = listings.get(p.event.listingId.toLowerCase());
    if (!key) results[p.index] = rejected(p.event.id, "keyId: no such API key");
    else if (!listing) results[p.index] = rejected(p.event.id, "listingId: no such listing");
    else if (opts.service.kind === "provider" && listing.providerSlug !== opts.service.orgSlug) {
      results[p.index] = rejected(p.event.id, `listingId: this service token may only report usage of ${opts.service.orgSlug}'s listings`);
    } else candidates.push({ ...p, key, listing, capped });
  }
  if (capped && candidates.length) {
    const problems = await providerEventProblems(db, (await serviceOrgId(db, opts.service))!, candidates, now);
    for (const c of candidates) if (problems.has(c.index)) results[c.index] = rejected(c.event.id, problems.get(c.index)!);
    candidates = candidates.filter((c) => !problems.has(c.index));
  }

  if (candidates.length) {
    const times = candidates.map((c) => c.event.startedAt.getTime());
    await ensurePartitions(db, new Date(Math.min(...times)), new Date(Math.max(...times)));
    const accounts = await accountIds(db, accountsNeeded(candidates));
    const outcome = await settleQueued(db, { pending: candidates, accounts, feeBps: opts.defaultFeeBps });
    for (const c of candidates) results[c.index] = outcome.get(c.event.id)!;
    await recordAnomalies(db, anomaliesOf(candidates, outcome));
  }

  const fingerprintAt = new Map(parsed.map((p) => [p.index, p.fingerprint]));
  for (const r of repeats) {
    const first = results[r.first]!;
    const firstFingerprint = fingerprintAt.get(r.first);
    if (first.status === "rejected") results[r.index] = first;
    else if (r.fingerprint === firstFingerprint) results[r.index] = { ...first, status: "duplicate" };
    else results[r.index] = rejected(first.id, "id: appears twice in this batch with different fields (the first was taken)");
  }
  return results as EventResult[];
}

/** Most events one settlement transaction takes when it merges concurrent reports. */
const MAX_MERGED_EVENTS = 5000;

type Job = {
  pending: Candidate[];
  accounts: AccountIds;
  feeBps: number;
  results: Map<string, EventResult>;
  done: (results: Map<string, EventResult>) => void;
  fail: (err: unknown) => void;
};
type Writer = { jobs: Job[]; running: boolean };
const writers = new WeakMap<Db, Writer>();

/**
 * Settles through this process's single settlement writer. Concurrent reports are merged
 * into one transaction (up to MAX_MERGED_EVENTS events): shared rows (the platform's
 * accounts, buyers' accounts, a key's counters) are then locked by one transaction at a
 * time instead of making concurrent ones queue behind each other, and a merged batch
 * aggregates into fewer transfers. An id that two waiting reports both carry is settled
 * in the first round and answered as a duplicate (or conflict) in the next.
 */
function settleQueued(db: Db, job: Omit<Job, "results" | "done" | "fail">): Promise<Map<string, EventResult>> {
  let w = writers.get(db);
  if (!w) writers.set(db, (w = { jobs: [], running: false }));
  const writer = w;
  return new Promise((resolve, reject) => {
    writer.jobs.push({ ...job, results: new Map(), done: resolve, fail: reject });
    if (!writer.running) void drain(db, writer);
  });
}

async function drain(db: Db, w: Writer) {
  w.running = true;
  try {
    while (w.jobs.length) {
      const feeBps = w.jobs[0]!.feeBps;
      const round: { job: Job; taken: Candidate[] }[] = [];
      const ids = new Set<string>();
      for (const job of w.jobs) {
        if (job.feeBps !== feeBps || ids.size >= MAX_MERGED_EVENTS) continue;
        const taken: Candidate[] = [];
        const rest: Candidate[] = [];
        for (const c of job.pending) {
          if (ids.has(c.event.id) || ids.size >= MAX_MERGED_EVENTS) rest.push(c);
          else {
            ids.add(c.event.id);
            taken.push(c);
          }
        }
        if (taken.length) {
          job.pending = rest;
          round.push({ job, taken });
        }
      }
      const accounts = new Map<string, string>();
      for (const { job } of round) for (const [k, v] of job.accounts) accounts.set(k, v);
      const failed = new Map<Job, unknown>();
      try {
        await settleRound(db, round, accounts, feeBps);
      } catch (err) {
        // One report's failure must not sink the others merged with it: each is tried alone.
        if (round.length === 1) failed.set(round[0]!.job, err);
        else {
          for (const r of round) {
            try {
              await settleRound(db, [r], accounts, feeBps);
            } catch (alone) {
              failed.set(r.job, alone);
            }
          }
        }
      }
      for (const { job } of round) {
        const err = failed.get(job);
        if (!failed.has(job) && job.pending.length) continue;
        w.jobs.splice(w.jobs.indexOf(job), 1);
        if (failed.has(job)) job.fail(err);
        else job.done(job.results);
      }
    }
  } finally {
    w.running = false;
  }
}

/** One settlement transaction over the round's events; answers go into each job's results. */
async function settleRound(db: Db, round: readonly { job: Job; taken: Candidate[] }[], accounts: AccountIds, feeBps: number) {
  const merged = round.flatMap((r) => r.taken);
  // Holds are judged (open, expired) at the time of the transaction.
  const outcome = await withRetry(() => db.transaction((tx) => settle(tx, merged, accounts, feeBps, new Date())));
  for (const { job, taken } of round) for (const c of taken) job.results.set(c.event.id, outcome.get(c.event.id)!);
}

/** Settled events (now or before) that carry an upstream's unbilled claim. */
function anomaliesOf(candidates: readonly Candidate[], outcome: ReadonlyMap<string, EventResult>): AnomalyInput[] {
  const out: AnomalyInput[] = [];
  for (const c of candidates) {
    const r = outcome.get(c.event.id);
    const anomaly = c.event.anomaly;
    if (anomaly && r && (r.status === "settled" || r.status === "duplicate")) out.push({ event: { ...c.event, anomaly }, providerOrgId: c.listing.providerOrgId, costNano: r.costNano ?? 0n });
  }
  return out;
}

function accountsNeeded(candidates: readonly Candidate[]): AccountNeed[] {
  const needs = new Map<string, AccountNeed>();
  const add = (n: AccountNeed) => needs.set(`${n.orgId}:${n.kind}`, n);
  add({ orgId: null, kind: "platform_revenue" });
  add({ orgId: null, kind: "usage_holds" });
  for (const c of candidates) {
    add({ orgId: c.key.orgId, kind: "buyer_credits" });
    add({ orgId: c.key.orgId, kind: "buyer_receivable" });
    add({ orgId: c.listing.providerOrgId, kind: "provider_payable" });
    add({ orgId: c.listing.providerOrgId, kind: "provider_unfunded" });
  }
  return [...needs.values()];
}

type Group = SettlementGroup & { buyerOrgId: string; providerOrgId: string };
type ReservedUse = { reservationId: string; orgId: string; usedNano: bigint };

/** Statement 1: claim, price, insert, count spend and rollups, one settlement row per (buyer, provider). */
/** An upsert's SET list that adds the batch's counts to the stored row's: `c = table.c + excluded.c, …`. */
const addCounts = (table: string, columns: readonly string[]) => sql.raw(columns.map((c) => `${c} = ${table}.${c} + excluded.${c}`).join(", "));

async function insertNewEvents(tx: Tx, candidates: readonly Candidate[], batchId: string, defaultFeeBps: number, now: Date) {
  // Sorted ids: concurrent batches claim overlapping ids in the same order.
  const sorted = [...candidates].sort((a, b) => (a.event.id < b.event.id ? -1 : a.event.id > b.event.id ? 1 : 0));
  const col = (f: (c: Candidate) => string | number | boolean | Date | null) => pgArray(sorted.map(f));
  const { rows } = await tx.execute<{ settled: [string, string][] | null; unpriced: string[] | null; too_costly: string[] | null; groups: [string, string, string, string, string][] | null; reserved: [string, string, string][] | null }>(sql`
WITH input AS (
  SELECT * FROM unnest(
    ${col((c) => c.event.id)}::uuid[], ${col((c) => c.event.reservationId)}::uuid[], ${col((c) => c.event.keyId)}::uuid[],
    ${col((c) => c.event.listingId)}::uuid[], ${col((c) => c.event.inputTokens)}::int4[], ${col((c) => c.event.outputTokens)}::int4[],
    ${col((c) => c.event.cachedInputTokens)}::int4[], ${col((c) => c.event.startedAt)}::timestamptz[], ${col((c) => c.event.firstTokenAt)}::timestamptz[],
    ${col((c) => c.event.endedAt)}::timestamptz[], ${col((c) => c.event.status)}::text[], ${col((c) => c.event.estimated)}::bool[],
    ${col((c) => c.event.upstreamStatus)}::int2[], ${col((c) => c.fingerprint)}::uuid[], ${col((c) => c.key.orgId)}::uuid[],
    ${col((c) => c.listing.providerOrgId)}::uuid[], ${col((c) => c.capped)}::bool[]
  ) WITH ORDINALITY AS i(id, reservation_id, key_id, listing_id, input_tokens, output_tokens, cached_input_tokens, started_at, first_token_at,
                         ended_at, status, estimated, upstream_status, fingerprint, org_id, provider_org_id, capped, n)
),
-- The exact sum is compared before it is rounded into int8: an event past MAX_EVENT_COST_NANO is left out alone, never aborting the batch.
priced AS (
  SELECT i.*, p.id AS price_id, NOT EXISTS (SELECT 1 FROM usage_event_ids u WHERE u.id = i.id) AS fresh,
         CASE WHEN i.input_tokens::numeric * p.input_per1k_nano + i.output_tokens::numeric * p.output_per1k_nano
                   + i.cached_input_tokens::numeric * p.cached_input_per1k_nano <= ${MAX_EVENT_COST_NANO * 1000n}::numeric
              THEN tm_usage_cost(i.input_tokens, i.output_tokens, i.cached_input_tokens, p.input_per1k_nano, p.output_per1k_nano, p.cached_input_per1k_nano)
         END AS full_cost
  FROM input i
  CROSS JOIN LATERAL (
    SELECT lp.id, lp.input_per1k_nano, lp.output_per1k_nano, lp.cached_input_per1k_nano FROM listing_prices lp
    WHERE lp.listing_id = i.listing_id AND lp.effective_from <= i.started_at
    ORDER BY lp.effective_from DESC LIMIT 1
  ) p
),
-- What capped reservations (locked by the caller) still hold.
held AS (
  SELECT r.id, r.held_nano FROM reservations r JOIN ledger_pending lp ON lp.pending_id = r.hold_transfer_id AND lp.status = 'open'
  WHERE r.id IN (SELECT reservation_id FROM input WHERE capped) AND r.expires_at > ${now}
),
-- A capped event bills at most what its reservation holds less what the batch's earlier new events took of it.
costed AS (
  SELECT p.*, CASE WHEN NOT p.capped THEN p.full_cost ELSE greatest(0, least(p.full_cost, coalesce(h.held_nano, 0) - coalesce(sum(CASE WHEN p.fresh THEN p.full_cost ELSE 0 END)
           OVER (PARTITION BY p.reservation_id, p.capped ORDER BY p.n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)))::int8 END AS cost_nano
  FROM priced p LEFT JOIN held h ON h.id = p.reservation_id
  WHERE p.full_cost IS NOT NULL
),
claimed AS (
  INSERT INTO usage_event_ids (id, started_at, fingerprint, cost_nano)
  SELECT id, started_at, fingerprint, cost_nano FROM costed ORDER BY n
  ON CONFLICT (id) DO NOTHING
  RETURNING id
),
ev AS (
  SELECT p.*, tm_fee_nano(p.cost_nano, coalesce(o.fee_bps, ${defaultFeeBps}::int)) AS fee_nano,
         -- The batch's time (its UUIDv7's first 48 bits) then a digest of the pair: time-ordered ids keep index inserts at the right edge.
         overlay(md5(${batchId}::text || p.org_id::text || p.provider_org_id::text) PLACING left(replace(${batchId}::text, '-', ''), 12) FROM 1 FOR 12)::uuid AS settlement_id
  FROM costed p JOIN claimed c ON c.id = p.id LEFT JOIN provider_fee_overrides o ON o.org_id = p.provider_org_id
),
ins AS (
  INSERT INTO usage_events (id, started_at, first_token_at, ended_at, org_id, key_id, listing_id, provider_org_id, reservation_id,
                            input_tokens, output_tokens, cached_input_tokens, status, estimated, upstream_status, price_id, cost_nano, fee_nano, settlement_id)
  SELECT id, started_at, first_token_at, ended_at, org_id, key_id, listing_id, provider_org_id, reservation_id,
         input_tokens, output_tokens, cached_input_tokens, status, estimated, upstream_status, price_id, cost_nano, fee_nano, settlement_id
  FROM ev
),
org_rollup AS (
  INSERT INTO org_usage_hourly (org_id, dimension, hour, group_id, requests, input_tokens, output_tokens, cached_input_tokens, cost_nano,
                                ${sql.raw(lateColumns(ORG_USAGE_METRICS).join(", "))})
  SELECT org_id, d.dimension, date_trunc('hour', started_at, 'UTC'), d.group_id, count(*), sum(input_tokens), sum(output_tokens),
         sum(cached_input_tokens), sum(cost_nano)::int8, ${sql.raw(lateSums(ORG_USAGE_METRICS, MINUTE_OF_STARTED_AT).join(", "))}
  FROM ev CROSS JOIN LATERAL (VALUES (1::smallint, ev.listing_id), (2::smallint, ev.key_id)) AS d(dimension, group_id)
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (org_id, dimension, hour, group_id) DO UPDATE SET ${addCounts("org_usage_hourly", [
    "requests", "input_tokens", "output_tokens", "cached_input_tokens", "cost_nano", ...lateColumns(ORG_USAGE_METRICS),
  ])}
),
listing_rollup AS (
  INSERT INTO listing_hourly (listing_id, hour, provider_org_id, requests, errors, input_tokens, output_tokens, cached_input_tokens,
                              cost_nano, fee_nano, latency_ms_sum, ttft_ms_sum, ttft_count, ${sql.raw(lateColumns(LISTING_METRICS).join(", "))})
  SELECT listing_id, date_trunc('hour', started_at, 'UTC'), provider_org_id, count(*), count(*) FILTER (WHERE status <> 'ok'),
         sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cost_nano)::int8, sum(fee_nano)::int8,
         coalesce(sum((extract(epoch FROM ended_at - started_at) * 1000)::int8), 0),
         coalesce(sum((extract(epoch FROM first_token_at - started_at) * 1000)::int8), 0), count(first_token_at),
         ${sql.raw(lateSums(LISTING_METRICS, MINUTE_OF_STARTED_AT).join(", "))}
  FROM ev GROUP BY 1, 2, 3 ORDER BY 1, 2
  ON CONFLICT (listing_id, hour) DO UPDATE SET ${addCounts("listing_hourly", [
    "requests", "errors", "input_tokens", "output_tokens", "cached_input_tokens", "cost_nano", "fee_nano", "latency_ms_sum", "ttft_ms_sum", "ttft_count",
    ...lateColumns(LISTING_METRICS),
  ])}
),
-- Measured marketplace figures (server/dashboards/histogram.ts): time to first token (ms) and output tokens/s of ok events.
latency_rollup AS (
  INSERT INTO listing_latency_hourly (listing_id, hour, metric, bucket, events)
  SELECT listing_id, date_trunc('hour', started_at, 'UTC'), m.metric, tm_hist_bucket(m.v), count(*)
  FROM ev CROSS JOIN LATERAL (VALUES
    (1::smallint, CASE WHEN first_token_at IS NOT NULL THEN extract(epoch FROM first_token_at - started_at) * 1000 END),
    (2::smallint, CASE WHEN output_tokens > 0 AND ended_at > coalesce(first_token_at, started_at)
                       THEN output_tokens / extract(epoch FROM ended_at - coalesce(first_token_at, started_at)) END)
  ) AS m(metric, v)
  WHERE status = 'ok' AND m.v IS NOT NULL
  GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
  ON CONFLICT (listing_id, hour, metric, bucket) DO UPDATE SET ${addCounts("listing_latency_hourly", ["events"])}
),
settlements AS (
  INSERT INTO usage_settlements (id, batch_id, buyer_org_id, provider_org_id, events, cost_nano, fee_nano)
  SELECT settlement_id, ${batchId}::uuid, org_id, provider_org_id, count(*), sum(cost_nano)::int8, sum(fee_nano)::int8
  FROM ev GROUP BY settlement_id, org_id, provider_org_id
  RETURNING id, buyer_org_id, provider_org_id, cost_nano, fee_nano
)
SELECT
  (SELECT json_agg(json_build_array(id, cost_nano::text)) FROM ev) AS settled,
  (SELECT json_agg(id) FROM input WHERE NOT EXISTS (SELECT 1 FROM priced WHERE priced.id = input.id)) AS unpriced,
  (SELECT json_agg(id) FROM priced WHERE full_cost IS NULL) AS too_costly,
  (SELECT json_agg(json_build_array(id, buyer_org_id, provider_org_id, cost_nano::text, fee_nano::text) ORDER BY buyer_org_id, id) FROM settlements) AS groups,
  (SELECT json_agg(json_build_array(reservation_id, org_id, used::text)) FROM (
     SELECT reservation_id, org_id, sum(cost_nano) AS used FROM ev WHERE reservation_id IS NOT NULL GROUP BY 1, 2) r) AS reserved`);
  const row = rows[0]!;
  return {
    settled: new Map((row.settled ?? []).map(([id, cost]) => [id, BigInt(cost)])),
    unpriced: new Set(row.unpriced ?? []),
    tooCostly: new Set(row.too_costly ?? []),
    groups: (row.groups ?? []).map(([id, buyerOrgId, providerOrgId, cost, fee]): Group => ({ id, buyerOrgId, providerOrgId, costNano: BigInt(cost), feeNano: BigInt(fee) })),
    reserved: (row.reserved ?? []).map(([reservationId, orgId, used]): ReservedUse => ({ reservationId, orgId, usedNano: BigInt(used) })),
  };
}

async function settle(
  tx: Tx,
  candidates: readonly Candidate[],
  accounts: AccountIds,
  defaultFeeBps: number,
  now: Date,
): Promise<Map<string, EventResult>> {
  const batchId = uuidv7(now.getTime());
  // Reservations that cap provider-reported usage, locked before their holds are read (the order release takes).
  const capping = [...new Set(candidates.flatMap((c) => (c.capped && c.event.reservationId ? [c.event.reservationId.toLowerCase()] : [])))].sort();
  if (capping.length) await tx.execute(sql`select id from reservations where id = any(${pgArray(capping)}::uuid[]) order by id for update`);
  const { settled, unpriced, tooCostly, groups, reserved } = await insertNewEvents(tx, candidates, batchId, defaultFeeBps, now);
  const out = new Map<string, EventResult>();
  const others: Candidate[] = [];
  for (const c of candidates) {
    const id = c.event.id;
    const cost = settled.get(id);
    if (cost !== undefined) out.set(id, { id, status: "settled", costNano: cost, reason: null });
    else if (unpriced.has(id)) out.set(id, rejected(id, "startedAt: the listing had no price in force at that time"));
    else if (tooCostly.has(id)) out.set(id, rejected(id, `tokens: the event would cost more than ${formatUsd(MAX_EVENT_COST_NANO)}, the most one request may bill`));
    else others.push(c);
  }
  if (others.length) await answerResends(tx, others, out);
  if (groups.length) {
    await postSettlement(tx, groups, reserved, accounts, now);
    await addToCounters(tx, candidates.filter((c) => settled.has(c.event.id)), settled);
  }
  return out;
}

const HOUR_MS = 3600_000;

/**
 * Adds the new events to key_spend_daily and usage_hourly. Last before commit: these rows
 * are shared by concurrent batches (a key's day, a key's hour), so they are locked for as
 * short a time as possible, in key order.
 */
async function addToCounters(tx: Tx, events: readonly Candidate[], costOf: ReadonlyMap<string, bigint>) {
  const spend = new Map<string, { orgId: string; keyId: string; day: string; costNano: bigint }>();
  type Hour = { orgId: string; keyId: string; listingId: string; hour: Date; requests: number; input: number; output: number; cached: number; costNano: bigint; errors: number; latencyMs: number; ttftMs: number; ttftCount: number };
  const hours = new Map<string, Hour>();
  for (const c of events) {
    const e = c.event;
    const cost = costOf.get(e.id)!;
    const keyId = e.keyId.toLowerCase();
    const listingId = e.listingId.toLowerCase();
    const day = e.startedAt.toISOString().slice(0, 10);
    const s = spend.get(`${keyId}|${day}`);
    if (s) s.costNano += cost;
    else spend.set(`${keyId}|${day}`, { orgId: c.key.orgId, keyId, day, costNano: cost });
    const hour = new Date(Math.floor(e.startedAt.getTime() / HOUR_MS) * HOUR_MS);
    const k = `${keyId}|${listingId}|${hour.getTime()}`;
    let h = hours.get(k);
    if (!h) {
      h = { orgId: c.key.orgId, keyId, listingId, hour, requests: 0, input: 0, output: 0, cached: 0, costNano: 0n, errors: 0, latencyMs: 0, ttftMs: 0, ttftCount: 0 };
      hours.set(k, h);
    }
    h.requests++;
    h.input += e.inputTokens;
    h.output += e.outputTokens;
    h.cached += e.cachedInputTokens;
    h.costNano += cost;
    if (e.status !== "ok") h.errors++;
    h.latencyMs += e.endedAt.getTime() - e.startedAt.getTime();
    if (e.firstTokenAt) {
      h.ttftMs += e.firstTokenAt.getTime() - e.startedAt.getTime();
      h.ttftCount++;
    }
  }
  // A consistent order (key, then day or listing and hour) across transactions; keys are 13-digit times.
  const sorted = <T>(m: Map<string, T>) => [...m.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([, v]) => v);
  const s = sorted(spend);
  const h = sorted(hours);
  const col = <T>(xs: readonly T[], f: (x: T) => string | number | bigint | Date) => pgArray(xs.map(f));
  await tx.execute(sql`
WITH spend AS (
  INSERT INTO key_spend_daily (org_id, key_id, day, spend_nano)
  SELECT * FROM unnest(${col(s, (x) => x.orgId)}::uuid[], ${col(s, (x) => x.keyId)}::uuid[], ${col(s, (x) => x.day)}::date[], ${col(s, (x) => x.costNano)}::int8[])
  ON CONFLICT (key_id, day) DO UPDATE SET ${addCounts("key_spend_daily", ["spend_nano"])}
)
INSERT INTO usage_hourly (org_id, key_id, listing_id, hour, requests, input_tokens, output_tokens, cached_input_tokens, cost_nano,
                          errors, latency_ms_sum, ttft_ms_sum, ttft_count)
SELECT * FROM unnest(${col(h, (x) => x.orgId)}::uuid[], ${col(h, (x) => x.keyId)}::uuid[], ${col(h, (x) => x.listingId)}::uuid[],
  ${col(h, (x) => x.hour)}::timestamptz[], ${col(h, (x) => x.requests)}::int8[], ${col(h, (x) => x.input)}::int8[], ${col(h, (x) => x.output)}::int8[],
  ${col(h, (x) => x.cached)}::int8[], ${col(h, (x) => x.costNano)}::int8[], ${col(h, (x) => x.errors)}::int8[], ${col(h, (x) => x.latencyMs)}::int8[],
  ${col(h, (x) => x.ttftMs)}::int8[], ${col(h, (x) => x.ttftCount)}::int8[])
ON CONFLICT (org_id, key_id, listing_id, hour) DO UPDATE SET ${addCounts("usage_hourly", [
  "requests", "input_tokens", "output_tokens", "cached_input_tokens", "cost_nano", "errors", "latency_ms_sum", "ttft_ms_sum", "ttft_count",
])}`);
}

/** Ids already settled: the same fields are a duplicate (answered with the stored cost), different ones a conflict kept for finance. */
async function answerResends(tx: Tx, others: readonly Candidate[], out: Map<string, EventResult>) {
  const { rows } = await tx.execute<{ id: string; fingerprint: string; cost_nano: bigint }>(
    sql`select id, fingerprint, cost_nano from usage_event_ids where id = any(${pgArray(others.map((c) => c.event.id))}::uuid[])`,
  );
  const stored = new Map(rows.map((r) => [r.id, r]));
  const conflicts: { c: Candidate; settledFingerprint: string }[] = [];
  for (const c of others) {
    const s = stored.get(c.event.id)!;
    if (s.fingerprint === c.fingerprint) out.set(c.event.id, { id: c.event.id, status: "duplicate", costNano: s.cost_nano, reason: null });
    else {
      out.set(c.event.id, { id: c.event.id, status: "conflict", costNano: null, reason: "id: already settled with different fields; kept for review, not billed" });
      conflicts.push({ c, settledFingerprint: s.fingerprint });
    }
  }
  if (!conflicts.length) return;
  conflicts.sort((a, b) => (a.c.event.id < b.c.event.id ? -1 : 1));
  await tx.execute(sql`
    insert into usage_conflicts (id, fingerprint, settled_fingerprint, event)
    select * from unnest(${pgArray(conflicts.map((x) => x.c.event.id))}::uuid[], ${pgArray(conflicts.map((x) => x.c.fingerprint))}::uuid[],
                         ${pgArray(conflicts.map((x) => x.settledFingerprint))}::uuid[], ${pgArray(conflicts.map((x) => JSON.stringify(x.c.event)))}::jsonb[])
    on conflict (id, fingerprint) do update set reports = usage_conflicts.reports + 1, last_reported_at = now()`);
}

type HeldReservation = { id: string; orgId: string; heldNano: bigint; holdTransferId: string; expiresAt: Date };

/** Statement: lock the reservations, then their holds (the order release uses), and read what they hold. */
async function lockReservations(tx: Tx, ids: readonly string[]): Promise<Map<string, HeldReservation & { holdOpen: boolean }>> {
  const { rows } = await tx.execute<{ id: string; org_id: string; held_nano: bigint; hold_transfer_id: string | null; expires_at: unknown; status: string | null }>(sql`
WITH r AS (
  SELECT id, org_id, held_nano, hold_transfer_id, expires_at FROM reservations WHERE id = any(${pgArray(ids)}::uuid[]) ORDER BY id FOR UPDATE
),
p AS (
  SELECT pending_id, status FROM ledger_pending WHERE pending_id IN (SELECT hold_transfer_id FROM r) ORDER BY pending_id FOR UPDATE
)
SELECT r.*, p.status FROM r LEFT JOIN p ON p.pending_id = r.hold_transfer_id`);
  const out = new Map<string, HeldReservation & { holdOpen: boolean }>();
  for (const r of rows) {
    if (!r.hold_transfer_id) continue;
    out.set(r.id, { id: r.id, orgId: r.org_id, heldNano: r.held_nano, holdTransferId: r.hold_transfer_id, expiresAt: asDate(r.expires_at), holdOpen: r.status === "open" });
  }
  return out;
}

async function postSettlement(tx: Tx, groups: readonly Group[], reserved: readonly ReservedUse[], accounts: AccountIds, now: Date) {
  const account = (need: AccountNeed) => accountOf(accounts, need);
  // Reservations the new usage spent from, whose hold is still open and unexpired (late usage simply posts).
  const live = reserved.length ? await lockReservations(tx, [...new Set(reserved.map((r) => r.reservationId))].sort()) : new Map();
  const usage = new Map<string, { reservation: HeldReservation; usedNano: bigint }>();
  for (const r of reserved) {
    const res = live.get(r.reservationId);
    if (!res || !res.holdOpen || res.orgId !== r.orgId || res.heldNano <= 0n || res.expiresAt.getTime() <= now.getTime()) continue;
    usage.set(res.id, { reservation: res, usedNano: r.usedNano });
  }

  const holdsAccount = account({ orgId: null, kind: "usage_holds" });
  const revenueAccount = account({ orgId: null, kind: "platform_revenue" });
  const buyers = [...new Set(groups.map((g) => g.buyerOrgId))];
  const accountRows = [
    holdsAccount,
    revenueAccount,
    ...buyers.flatMap((b) => [account({ orgId: b, kind: "buyer_credits" }), account({ orgId: b, kind: "buyer_receivable" })]),
    ...new Set(groups.flatMap((g) => [account({ orgId: g.providerOrgId, kind: "provider_payable" }), account({ orgId: g.providerOrgId, kind: "provider_unfunded" })])),
  ];
  // Every account this settlement moves, locked in id order before any of them moves.
  const { rows: balances } = await tx.execute<{ id: string; debits_posted: bigint; credits_posted: bigint; debits_pending: bigint; credit_limit_nano: bigint }>(
    sql`select id, debits_posted, credits_posted, debits_pending, credit_limit_nano from ledger_accounts
        where id = any(${pgArray(accountRows)}::uuid[]) order by id for no key update`,
  );
  const balanceOf = new Map(balances.map((b) => [b.id, b]));

  // Consume: void each hold, re-hold what the usage left of it.
  const voided = await voidPendingBatch(
    tx,
    [...usage.values()].map(({ reservation }) => ({ id: nameUuid("reservation-void", reservation.holdTransferId), pendingId: reservation.holdTransferId })),
    now,
  );
  const transfers: TransferInput[] = [];
  const reservationUpdates: { id: string; heldNano: bigint; consumedNano: bigint; holdTransferId: string | null }[] = [];
  const voidedBy = new Map<string, bigint>();
  const newHoldsBy = new Map<string, bigint>();
  for (const { reservation, usedNano } of usage.values()) {
    if (!voided.has(reservation.holdTransferId)) continue;
    const { coveredNano, remainingNano } = consumeHold(reservation.heldNano, usedNano);
    const creditsId = account({ orgId: reservation.orgId, kind: "buyer_credits" });
    voidedBy.set(reservation.orgId, (voidedBy.get(reservation.orgId) ?? 0n) + reservation.heldNano);
    let holdTransferId: string | null = null;
    if (remainingNano > 0n) {
      holdTransferId = nameUuid("reservation-hold", reservation.holdTransferId);
      newHoldsBy.set(reservation.orgId, (newHoldsBy.get(reservation.orgId) ?? 0n) + remainingNano);
      transfers.push({
        id: holdTransferId,
        debitAccountId: creditsId,
        creditAccountId: holdsAccount,
        amountNano: remainingNano,
        code: "reservation",
        ref: { kind: "reservation", id: reservation.id },
        pending: { expiresAt: reservation.expiresAt },
      });
    }
    reservationUpdates.push({ id: reservation.id, heldNano: remainingNano, consumedNano: coveredNano, holdTransferId });
  }

  const unfunded: UnfundedShare[] = [];
  const groupsOf = new Map<string, Group[]>();
  for (const g of groups) {
    const list = groupsOf.get(g.buyerOrgId);
    if (list) list.push(g);
    else groupsOf.set(g.buyerOrgId, [g]);
  }
  for (const [buyer, own] of groupsOf) {
    const creditsId = account({ orgId: buyer, kind: "buyer_credits" });
    const receivableId = account({ orgId: buyer, kind: "buyer_receivable" });
    const c = balanceOf.get(creditsId)!;
    const spendable = c.credits_posted + c.credit_limit_nano - c.debits_posted - (c.debits_pending - (voidedBy.get(buyer) ?? 0n));
    const usageNano = own.reduce((s, g) => s + g.costNano, 0n);
    const legs = splitGroups(own, fromCredits(usageNano, spendable, newHoldsBy.get(buyer) ?? 0n));
    own.forEach((g, i) => {
      const l = legs[i]!;
      const payableId = account({ orgId: g.providerOrgId, kind: "provider_payable" });
      const ref = { kind: "usage_settlement", id: g.id };
      const leg = (debitAccountId: string, creditAccountId: string, amountNano: bigint) => {
        // Fresh time-ordered ids: a retry is a new batch, so these transfers are never replayed.
        if (amountNano > 0n) transfers.push({ id: uuidv7(now.getTime()), debitAccountId, creditAccountId, amountNano, code: "usage", ref });
      };
      leg(creditsId, payableId, l.creditsToProviderNano);
      leg(creditsId, revenueAccount, l.creditsToPlatformNano);
      leg(receivableId, payableId, l.receivableToProviderNano);
      leg(receivableId, revenueAccount, l.receivableToPlatformNano);
      if (l.receivableToProviderNano > 0n) {
        // Pay when paid: the share the buyer's money does not yet stand behind waits apart.
        const share = { settlementId: g.id, buyerOrgId: buyer, providerOrgId: g.providerOrgId, shareNano: g.costNano - g.feeNano, unfundedNano: l.receivableToProviderNano };
        unfunded.push(share);
        transfers.push(setAsideTransfer(share, payableId, account({ orgId: g.providerOrgId, kind: "provider_unfunded" })));
      }
    });
  }

  // New holds first: each posting statement checks limits on its own net effect, and the holds always fit.
  for (let i = 0; i < transfers.length; i += MAX_TRANSFERS_PER_POSTING) {
    await postTransfersBatch(tx, transfers.slice(i, i + MAX_TRANSFERS_PER_POSTING), now);
  }
  await recordUnfundedShares(tx, unfunded, now);
  if (reservationUpdates.length) {
    await tx.execute(sql`
      update reservations r set held_nano = u.held, consumed_nano = r.consumed_nano + u.consumed, hold_transfer_id = u.hold
      from unnest(${pgArray(reservationUpdates.map((u) => u.id))}::uuid[], ${pgArray(reservationUpdates.map((u) => u.heldNano))}::int8[],
                  ${pgArray(reservationUpdates.map((u) => u.consumedNano))}::int8[], ${pgArray(reservationUpdates.map((u) => u.holdTransferId))}::uuid[])
           as u(id, held, consumed, hold)
      where r.id = u.id`);
  }
}
