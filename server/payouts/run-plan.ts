import { NANO_PER_CENT } from "../ledger/money";

/** One provider as a payout run sees it: funded payable available (nano-USD) and its Connect state. */
export type RunCandidate = { orgId: string; orgName: string; fundedNano: bigint; connect: { accountId: string; payoutsEnabled: boolean } | null };

export type RunLine = RunCandidate & {
  /** Whole cents to pay: the funded balance rounded down (the sub-cent rest stays funded for next time). */
  amountCents: number;
  decision: "pay" | "below_minimum" | "not_onboarded";
};

/** Whole cents of a nano-USD balance, rounded down; never negative. */
export function payableCents(fundedNano: bigint): number {
  return fundedNano > 0n ? Number(fundedNano / NANO_PER_CENT) : 0;
}

/**
 * Who a run pays: providers with a connected account whose payouts are enabled and whose funded
 * balance is at least `minimumCents`. The others are listed with the reason they are skipped.
 */
export function planRun(candidates: readonly RunCandidate[], minimumCents: number): RunLine[] {
  return candidates.map((c) => {
    const amountCents = payableCents(c.fundedNano);
    const decision = amountCents <= 0 || amountCents < minimumCents ? "below_minimum" : !c.connect?.payoutsEnabled ? "not_onboarded" : "pay";
    return { ...c, amountCents, decision };
  });
}
