import { and, asc, gte, lt } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { usageAnomalies } from "../../db/schema";
import type { UsageEvent } from "./contract";

/**
 * Usage anomalies (db/schema/usage.ts usage_anomalies): what an upstream claimed beside
 * what was billed, recorded once per event when its report is settled (or answered as
 * a duplicate: the insert after a lost answer happens on the resend).
 */

export type AnomalyInput = { event: UsageEvent & { anomaly: NonNullable<UsageEvent["anomaly"]> }; providerOrgId: string; costNano: bigint };

export async function recordAnomalies(db: DbOrTx, p: { anomalies: readonly AnomalyInput[] }): Promise<void> {
  const rows = p.anomalies;
  if (rows.length === 0) return;
  await db
    .insert(usageAnomalies)
    .values(
      rows.map(({ event: e, providerOrgId, costNano }) => ({
        eventId: e.id,
        listingId: e.listingId,
        providerOrgId,
        keyId: e.keyId,
        reason: e.anomaly.reason,
        reportedInputTokens: e.anomaly.reportedInputTokens,
        reportedOutputTokens: e.anomaly.reportedOutputTokens,
        reportedCachedInputTokens: e.anomaly.reportedCachedInputTokens,
        billedInputTokens: e.inputTokens,
        billedOutputTokens: e.outputTokens,
        billedCachedInputTokens: e.cachedInputTokens,
        billedCostNano: costNano,
        startedAt: e.startedAt,
      })),
    )
    .onConflictDoNothing();
}

/** The anomalies of events that started in [from, to), oldest first. */
export function anomaliesIn(db: DbOrTx, range: { from: Date; to: Date }) {
  return db
    .select()
    .from(usageAnomalies)
    .where(and(gte(usageAnomalies.startedAt, range.from), lt(usageAnomalies.startedAt, range.to)))
    .orderBy(asc(usageAnomalies.startedAt), asc(usageAnomalies.eventId));
}
