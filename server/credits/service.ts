import { eq } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { creditSettings } from "../../db/schema";
import { DomainError } from "../errors";
import { NANO_PER_CENT, parseUsd } from "../ledger/money";

/** The organisation's low-balance threshold, or the platform's default (`defaultCents`) when it set none. */
export async function lowBalanceThresholdNano(db: DbOrTx, p: { orgId: string; defaultCents: number }): Promise<bigint> {
  const [row] = await db.select().from(creditSettings).where(eq(creditSettings.orgId, p.orgId));
  return row?.lowBalanceThresholdNano ?? BigInt(p.defaultCents) * NANO_PER_CENT;
}

/** Sets the organisation's low-balance threshold from dollars text; refuses negative amounts. */
export async function setLowBalanceThreshold(db: DbOrTx, p: { orgId: string; thresholdUsd: string }) {
  const { orgId } = p;
  const nano = parseUsd(p.thresholdUsd, "thresholdUsd");
  if (nano < 0n) throw new DomainError("INVALID_INPUT", "thresholdUsd: must not be negative", "thresholdUsd");
  await db
    .insert(creditSettings)
    .values({ orgId, lowBalanceThresholdNano: nano })
    .onConflictDoUpdate({ target: creditSettings.orgId, set: { lowBalanceThresholdNano: nano } });
  return nano;
}
