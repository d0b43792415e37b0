import { sql } from "drizzle-orm";
import type { Db } from "../../db/client";
import { expireAbandonedTopUps } from "../credits/checkout-expiry";
import { refreshListingEconomyIfStale } from "../economy/summary";
import { expirePending } from "../ledger/service";

/** How many months of usage partitions the worker keeps ahead of the clock. */
export const PARTITION_MONTHS_AHEAD = 3;

export type TickResult = { expiredHolds: number; partitionsCreated: number; expiredTopUps: number; economyRefreshed: boolean };

/**
 * One round of background upkeep: expire the reservation holds that have run out (the
 * ledger's sweeper returns each remainder exactly once, even with several workers), and
 * create usage_events partitions for this month and the next few, and expire top-ups
 * abandoned at checkout for 24 hours, and rebuild the marketplace's token-economy summary once it
 * is `economyRefreshSeconds` old (server/economy/summary.ts).
 */
export async function runWorkerTick(db: Db, now = new Date(), economyRefreshSeconds = 60): Promise<TickResult> {
  const expiredHolds = await expirePending(db, { now });
  const ahead = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + PARTITION_MONTHS_AHEAD, 1));
  const { rows } = await db.execute<{ created: number }>(
    sql`select tm_usage_ensure_partitions(${now.toISOString()}::timestamptz, ${ahead.toISOString()}::timestamptz) as created`,
  );
  const expiredTopUps = await expireAbandonedTopUps(db, { now });
  const economyRefreshed = await refreshListingEconomyIfStale(db, { now, maxAgeSeconds: economyRefreshSeconds });
  return { expiredHolds, partitionsCreated: rows[0]?.created ?? 0, expiredTopUps, economyRefreshed };
}
