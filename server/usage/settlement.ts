import { sql } from "drizzle-orm";
import type { z } from "zod";
import type { Db, Tx } from "../../db/client";
import type { ServiceIdentity } from "../auth/service-tokens";
import { env } from "../env";
import { DomainError } from "../errors";
import { uuidv7Time } from "../lib/ids";
import { processLogger } from "../lib/logger";
import { pgArray } from "../lib/pg-array";
import { formatUsd } from "../ledger/money";
import { recordAnomalies, type AnomalyInput } from "./anomalies";
import { usageEvent, usageEventWire, type eventResult, type UsageEvent } from "./contract";
import { ingestBatch, storedEvents, unsettledBatches } from "./ingest";
import { CLOCK_SKEW_MS, eventFingerprint, MAX_EVENT_AGE_MS, MAX_EVENT_COST_NANO, timingProblem, zodReason } from "./rules";
import { providerEventProblems, serviceOrgId } from "./service-scope";
import { settleThrough } from "./settler";
import { ensurePartitions, lookupKeys, lookupListings, withRetry, type KeyInfo, type ListingInfo } from "./store";

/**
 * `usage.report`'s intake: validates a batch of usage events, answers each (settled with
 * its cost, duplicate, conflict, rejected with the reason) and hands the new ones to
 * stage 1 (./ingest.ts), which appends them priced in the report's own transaction,
 * exactly once per event id forever. The answer is given after that transaction commits
 * (durably); the ledger, rollups and counters follow when the settler's next window takes
 * the batch (./settler.ts), or before answering with `settle: "inline"`.
 *
 * Reports share no row in stage 1, so concurrent ones run in parallel. Past a backlog of
 * `backlogLimit` unsettled batches a report is refused with BUSY (HTTP 503) and nothing is
 * written; the proxy keeps the events in its spool and sends them again.
 */

export type EventResult = z.infer<typeof eventResult>;
export type ReportOptions = {
  service: ServiceIdentity;
  defaultFeeBps: number;
  now?: Date;
  /** inline (default): settle the batch (and any before it) before answering; windowed: leave it to the settler. */
  settle?: "inline" | "windowed";
  /** Unsettled batches past which reports are refused (BUSY); none when absent. */
  backlogLimit?: number;
  /** Events as JSON carries them (timestamps as ISO strings): the lean ingest path. */
  wire?: boolean;
  /** The usage bus shard the events were pulled from (their batch waits for that shard's windows); 0, the default, over HTTP. */
  shard?: number;
};

/** The options every HTTP path into reportUsage uses: the platform fee, the backlog limit, the settlement mode. */
export function reportOptions(service: ServiceIdentity, settle: ReportOptions["settle"] = "inline"): ReportOptions {
  const e = env();
  return { service, defaultFeeBps: e.PLATFORM_FEE_BPS, settle, backlogLimit: settle === "windowed" ? e.USAGE_BACKLOG_MAX_BATCHES : undefined };
}

/** `capped`: reported by a provider's token, so billed at most what its reservation holds. */
type Candidate = { index: number; event: UsageEvent; fingerprint: string; key: KeyInfo; listing: ListingInfo; capped: boolean };

const rejected = (id: string, reason: string): EventResult => ({ id, status: "rejected", costNano: null, reason });

function idOf(raw: unknown): string {
  const id = typeof raw === "object" && raw !== null ? (raw as { id?: unknown }).id : undefined;
  return typeof id === "string" ? id.slice(0, 64) : "";
}

/**
 * Why an event's id cannot be stored, or null: usage_events is partitioned by the time in
 * the id's first 48 bits (a UUIDv7 made when the request started), so that time must be
 * as recent as an event may be and not ahead of the clock.
 */
export function idTimeProblem(id: string, now: Date): string | null {
  const t = uuidv7Time(id);
  if (!Number.isFinite(t) || t < now.getTime() - MAX_EVENT_AGE_MS - 86_400_000 || t > now.getTime() + CLOCK_SKEW_MS) {
    return "id: must be a UUIDv7 made when the request started (its time prefix is not within the last 35 days)";
  }
  return null;
}

export async function reportUsage(db: Db, p: ReportOptions & { events: readonly unknown[] }): Promise<EventResult[]> {
  const { events: rawEvents, ...opts } = p;
  const now = opts.now ?? new Date();
  const results: (EventResult | undefined)[] = new Array(rawEvents.length);
  const parsed: { index: number; event: UsageEvent; fingerprint: string }[] = [];
  // Later occurrences of an id within the batch, answered from the first one.
  const repeats: { index: number; first: number; fingerprint: string }[] = [];
  const firstIndex = new Map<string, number>();

  for (let index = 0; index < rawEvents.length; index++) {
    const raw = rawEvents[index];
    const r = (opts.wire ? usageEventWire : usageEvent).safeParse(raw);
    if (!r.success) {
      results[index] = rejected(idOf(raw), zodReason(r.error));
      continue;
    }
    // The parsed object is the intake's own: ids are lower-cased in place, once.
    const event = r.data;
    event.id = event.id.toLowerCase();
    event.keyId = event.keyId.toLowerCase();
    event.listingId = event.listingId.toLowerCase();
    if (event.reservationId) event.reservationId = event.reservationId.toLowerCase();
    const problem = timingProblem(event, now) ?? idTimeProblem(event.id, now);
    if (problem) {
      results[index] = rejected(event.id, problem);
      continue;
    }
    const fingerprint = eventFingerprint(event);
    const first = firstIndex.get(event.id);
    if (first !== undefined) {
      repeats.push({ index, first, fingerprint });
      continue;
    }
    firstIndex.set(event.id, index);
    parsed.push({ index, event, fingerprint });
  }

  const keys = await lookupKeys(db, { ids: new Set(parsed.map((p) => p.event.keyId)) });
  const listings = await lookupListings(db, { ids: new Set(parsed.map((p) => p.event.listingId)) });
  let candidates: Candidate[] = [];
  const capped = opts.service.kind === "provider";
  for (const p of parsed) {
    const key = keys.get(p.event.keyId);
    const listing = listings.get(p.event.listingId);
    if (!key) results[p.index] = rejected(p.event.id, "keyId: no such API key");
    else if (!listing) results[p.index] = rejected(p.event.id, "listingId: no such listing");
    else if (opts.service.kind === "provider" && listing.providerSlug !== opts.service.orgSlug) {
      results[p.index] = rejected(p.event.id, `listingId: this service token may only report usage of ${opts.service.orgSlug}'s listings`);
    } else candidates.push({ ...p, key, listing, capped });
  }
  if (capped && candidates.length) {
    const providerOrgId = (await serviceOrgId(db, { service: opts.service }))!;
    const problems = await providerEventProblems(db, { providerOrgId, events: candidates, now });
    for (const c of candidates) if (problems.has(c.index)) results[c.index] = rejected(c.event.id, problems.get(c.index)!);
    candidates = candidates.filter((c) => !problems.has(c.index));
  }

  if (candidates.length) {
    const times = candidates.map((c) => uuidv7Time(c.event.id));
    await ensurePartitions(db, { from: new Date(Math.min(...times)), to: new Date(Math.max(...times)) });
    const { outcome, batchSeq } = await withRetry(() => db.transaction((tx) => accept(tx, candidates, opts, now)));
    for (const c of candidates) results[c.index] = outcome.get(c.event.id)!;
    if (batchSeq !== null) logBatch(batchSeq, opts.service, candidates, outcome);
    if (batchSeq !== null && (opts.settle ?? "inline") === "inline") await settleThrough(db, { seq: batchSeq });
    await recordAnomalies(db, { anomalies: anomaliesOf(candidates, outcome) });
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

/**
 * The batch's line, once it is committed: its new events by id (each the proxy's request id), so that
 * an id found in a proxy's line leads to its batch, and the settler's window line to the ledger.
 */
function logBatch(batchSeq: number, service: ServiceIdentity, candidates: readonly Candidate[], outcome: ReadonlyMap<string, EventResult>) {
  const eventIds: string[] = [];
  let costNano = 0n;
  for (const c of candidates) {
    const r = outcome.get(c.event.id);
    if (r?.status !== "settled") continue;
    eventIds.push(c.event.id);
    costNano += r.costNano ?? 0n;
  }
  const reporter = service.kind === "provider" ? service.orgSlug : "platform";
  processLogger().info({ batchSeq, reporter, events: eventIds.length, costNano: String(costNano), eventIds }, "usage batch accepted");
}

/** Stage 1 in the report's transaction: the backlog check, the new events appended, resends answered. */
async function accept(tx: Tx, candidates: readonly Candidate[], opts: ReportOptions, now: Date) {
  if (opts.backlogLimit !== undefined && (await unsettledBatches(tx, { limit: opts.backlogLimit })) > opts.backlogLimit) {
    throw new DomainError("BUSY", `usage settlement is ${opts.backlogLimit}+ batches behind; send these events again shortly`);
  }
  const ingested = await ingestBatch(tx, {
    events: candidates.map((c) => ({
      event: c.event,
      fingerprint: c.fingerprint,
      orgId: c.key.orgId,
      providerOrgId: c.listing.providerOrgId,
      capped: c.capped,
    })),
    defaultFeeBps: opts.defaultFeeBps,
    now,
    shard: opts.shard ?? 0,
  });
  const outcome = new Map<string, EventResult>();
  const others: Candidate[] = [];
  for (const c of candidates) {
    const id = c.event.id;
    const cost = ingested.settled.get(id);
    if (cost !== undefined) outcome.set(id, { id, status: "settled", costNano: cost, reason: null });
    else if (ingested.unpriced.has(id)) outcome.set(id, rejected(id, "startedAt: the listing had no price in force at that time"));
    else if (ingested.tooCostly.has(id))
      outcome.set(id, rejected(id, `tokens: the event would cost more than ${formatUsd(MAX_EVENT_COST_NANO)}, the most one request may bill`));
    else others.push(c);
  }
  if (others.length) await answerResends(tx, others, outcome);
  return { outcome, batchSeq: ingested.batchSeq };
}

/** Settled events (now or before) that carry an upstream's unbilled claim. */
function anomaliesOf(candidates: readonly Candidate[], outcome: ReadonlyMap<string, EventResult>): AnomalyInput[] {
  const out: AnomalyInput[] = [];
  for (const c of candidates) {
    const r = outcome.get(c.event.id);
    const anomaly = c.event.anomaly;
    if (anomaly && r && (r.status === "settled" || r.status === "duplicate"))
      out.push({ event: { ...c.event, anomaly }, providerOrgId: c.listing.providerOrgId, costNano: r.costNano ?? 0n });
  }
  return out;
}

/** Ids already settled: the same fields are a duplicate (answered with the stored cost), different ones a conflict kept for finance. */
async function answerResends(tx: Tx, others: readonly Candidate[], out: Map<string, EventResult>) {
  const stored = await storedEvents(tx, { ids: others.map((c) => c.event.id) });
  const conflicts: { c: Candidate; settledFingerprint: string }[] = [];
  for (const c of others) {
    const s = stored.get(c.event.id)!;
    if (s.fingerprint === c.fingerprint) out.set(c.event.id, { id: c.event.id, status: "duplicate", costNano: s.costNano, reason: null });
    else {
      out.set(c.event.id, {
        id: c.event.id,
        status: "conflict",
        costNano: null,
        reason: "id: already settled with different fields; kept for review, not billed",
      });
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
