import type { DbOrTx } from "../../db/client";

/**
 * What finance reads of settlement's usage tables, behind one small interface so the
 * reports, drill-downs and exports do not depend on how usage is stored.
 */

export type Range = { from: Date; to: Date };

/** "buyerOrgId/providerOrgId": the key of per-pair usage figures. */
export const pairKey = (buyerOrgId: string, providerOrgId: string) => `${buyerOrgId}/${providerOrgId}`;

export type UsageByPair = {
  /** Sum of settled events' cost per (buyer, provider), events settled in the range. */
  eventsNano: Map<string, bigint>;
  /** Sum of usage transfers per (buyer, provider), transfers created in the range. */
  transfersNano: Map<string, bigint>;
  /** Usage transfers in the range that name no settlement record. */
  unattributed: { transferId: string; amountNano: bigint }[];
};

export async function usageByPair(_db: DbOrTx, _range: Range): Promise<UsageByPair> {
  return { eventsNano: new Map(), transfersNano: new Map(), unattributed: [] };
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

/** The events a usage transfer settled, oldest first, paged by event id. */
export async function usageEventsOfTransfer(
  _db: DbOrTx,
  _p: { transferId: string; after?: string | null; limit: number },
): Promise<{ settlement: { id: string; buyerOrgId: string; providerOrgId: string; events: number; costNano: bigint } | null; events: UsageEventRow[]; nextCursor: string | null }> {
  return { settlement: null, events: [], nextCursor: null };
}

export type UsageCostRow = { keyId: string; keyName: string; listingSlug: string; requests: bigint; costNano: bigint };

/** A buyer's usage cost in the range by key and listing. */
export async function usageCostByKeyAndListing(_db: DbOrTx, _p: { orgId: string } & Range): Promise<UsageCostRow[]> {
  return [];
}

/** Money held by open reservations per buyer organisation, or null when reservations are not recorded. */
export async function openReservationsByOrg(_db: DbOrTx): Promise<Map<string, bigint> | null> {
  return null;
}

export type UsageConflictRow = { id: string; fingerprint: string; reports: number; firstReportedAt: Date; lastReportedAt: Date; event: unknown; reviewed: boolean };

/** Conflicting usage reports first seen in the range (settlement keeps them unbilled). */
export async function usageConflicts(_db: DbOrTx, _range: Range): Promise<UsageConflictRow[]> {
  return [];
}
