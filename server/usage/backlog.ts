import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { asDate } from "./store";

/**
 * The settlement queue as the settlers and dashboards read it: usage_batches committed by
 * stage 1 and not yet taken by a window (./settler.ts), per shard.
 */

/**
 * Shards other than `except` whose oldest unsettled batch has waited at least `olderThanMs`:
 * no settler of theirs is keeping up (or running), so the worker settles them too.
 */
export async function staleShards(db: Db, p: { olderThanMs: number; except?: number; now?: Date }): Promise<number[]> {
  const now = p.now ?? new Date();
  const { rows } = await db.execute<{ shard: number }>(sql`
    select shard from usage_batches where settled_at is null and shard <> ${p.except ?? -1}
    group by shard having min(received_at) <= ${new Date(now.getTime() - p.olderThanMs)} order by shard`);
  return rows.map((r) => r.shard);
}

/** The newest batch committed now (0 when none): a caller waits for settlement through it. */
export async function lastBatchSeq(db: Db): Promise<number> {
  const { rows } = await db.execute<{ seq: string | null }>(sql`select max(seq)::text as seq from usage_batches`);
  return Number(rows[0]!.seq ?? 0);
}

/** Per shard with batches waiting: how many, and the oldest one's age in seconds. */
export async function shardLags(db: Db, p: { now?: Date } = {}): Promise<{ shard: number; batches: number; lagSeconds: number }[]> {
  const now = p.now ?? new Date();
  const { rows } = await db.execute<{ shard: number; batches: number; oldest: unknown }>(
    sql`select shard, count(*)::int as batches, min(received_at) as oldest from usage_batches where settled_at is null group by shard order by shard`,
  );
  return rows.map((r) => ({ shard: r.shard, batches: r.batches, lagSeconds: Math.max(0, (now.getTime() - asDate(r.oldest).getTime()) / 1000) }));
}

/** Seconds the oldest unsettled batch has waited (0 when none): the ledger lag. */
export async function ledgerLagSeconds(db: Db, p: { now?: Date } = {}): Promise<number> {
  const now = p.now ?? new Date();
  const { rows } = await db.execute<{ oldest: unknown }>(sql`select min(received_at) as oldest from usage_batches where settled_at is null`);
  const oldest = rows[0]!.oldest;
  return oldest ? Math.max(0, (now.getTime() - asDate(oldest).getTime()) / 1000) : 0;
}
