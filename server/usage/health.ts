import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { ledgerLagSeconds, shardLags } from "./backlog";
import { asDate } from "./store";

/**
 * How far the ledger trails acknowledged usage (issue "settlement at scale"): usage is
 * answered when stage 1 commits and reaches the ledger when a settlement window takes its
 * batch, so until then balances, statements and reconciliation do not yet show it.
 */

/** Windows the "recent" figures cover: enough to see a trend, few enough to read from the newest end of the index. */
export const RECENT_WINDOWS = 20;

export type SettlementHealth = {
  /** Age of the oldest batch still waiting for a window, seconds (0 when none waits). */
  lagSeconds: number;
  /** Batches and their events waiting for a window. */
  waitingBatches: number;
  waitingEvents: number;
  /** The newest windows (at most RECENT_WINDOWS): when the last one committed, and the lag they ended (ms). Null before any. */
  recent: { windows: number; lastAt: Date; lastLagMs: number; maxLagMs: number } | null;
  /** Per shard with batches waiting (each shard has windows of its own, server/settler/): which one falls behind. */
  shards: { shard: number; batches: number; lagSeconds: number }[];
};

export async function settlementHealth(db: Db, p: { now?: Date } = {}): Promise<SettlementHealth> {
  const now = p.now ?? new Date();
  const [lagSeconds, shards, waiting, recent] = await Promise.all([
    ledgerLagSeconds(db, { now }),
    shardLags(db, { now }),
    db.execute<{ batches: number; events: number }>(
      sql`select count(*)::int as batches, coalesce(sum(events), 0)::int as events from usage_batches where settled_at is null`,
    ),
    db.execute<{ windows: number; last_at: unknown; last_lag: number | null; max_lag: number | null }>(sql`
      with w as (select created_at, lag_ms from usage_windows order by created_at desc limit ${RECENT_WINDOWS})
      select count(*)::int as windows, max(created_at) as last_at, max(lag_ms) as max_lag,
             (select lag_ms from w order by created_at desc limit 1) as last_lag
      from w`),
  ]);
  const r = recent.rows[0]!;
  return {
    lagSeconds,
    waitingBatches: waiting.rows[0]!.batches,
    waitingEvents: waiting.rows[0]!.events,
    recent: r.windows ? { windows: r.windows, lastAt: asDate(r.last_at), lastLagMs: r.last_lag!, maxLagMs: r.max_lag! } : null,
    shards,
  };
}
