/**
 * What an organisation's accounts mean to it, with no I/O: the one home of the buyer's
 * balance rules (read by reservations, settlement, money coming back out, and the
 * balance people see) and of what a provider may be paid. Amounts in nano-USD.
 */

/** The sums of a buyer_credits account a position reads (as locked or listed). */
export type CreditSums = { creditsPosted: bigint; debitsPosted: bigint; debitsPending: bigint; creditLimitNano: bigint };
/** The sums of a buyer_receivable account a position reads. */
export type ReceivableSums = { creditsPosted: bigint; debitsPosted: bigint };

export type BuyerPosition = {
  /** Paid in less used and owed (posted only): the balance people expect to see. */
  balanceNano: bigint;
  /** What the credit account can still pay: credit + credit limit − spent − what stays held. */
  spendableNano: bigint;
  /** What the buyer owes for money taken back past their credit (buyer_receivable). */
  owedNano: bigint;
  /** Spendable less owed: what a new hold may take; negative means blocked until a top-up. */
  availableNano: bigint;
  /** What stays held for requests. */
  heldNano: bigint;
};

/**
 * A buyer's position from its credit and receivable accounts (either may not exist yet:
 * zero). `releasingNano`: holds being voided in the same transaction, counted as free.
 * buyer_credits is always limited by its credit limit (defaultLimitFlags), so the limit
 * always counts. Exact bigint arithmetic; never throws.
 */
export function buyerPosition(p: { credits: CreditSums | null; receivable: ReceivableSums | null; releasingNano?: bigint }): BuyerPosition {
  const c = p.credits ?? { creditsPosted: 0n, debitsPosted: 0n, debitsPending: 0n, creditLimitNano: 0n };
  const owedNano = p.receivable ? p.receivable.debitsPosted - p.receivable.creditsPosted : 0n;
  const heldNano = c.debitsPending - (p.releasingNano ?? 0n);
  const spendableNano = c.creditsPosted + c.creditLimitNano - c.debitsPosted - heldNano;
  return { balanceNano: c.creditsPosted - c.debitsPosted - owedNano, spendableNano, owedNano, availableNano: spendableNano - owedNano, heldNano };
}

/** The sums of a provider_payable account the payable rule reads. */
export type PayableSums = { creditsPosted: bigint; debitsPosted: bigint; debitsPending: bigint };

/**
 * What a provider may be paid now from its provider_payable account: earned less paid
 * less what payouts in flight hold. Its SQL twin is providerAvailableSql (./accounts.ts).
 */
export function providerAvailableNano(a: PayableSums): bigint {
  return a.creditsPosted - a.debitsPosted - a.debitsPending;
}
