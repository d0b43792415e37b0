import { describe, expect, it } from "vitest";
import { buyerPosition, providerAvailableNano, type CreditSums, type ReceivableSums } from "./position";

const credits = (over: Partial<CreditSums> = {}): CreditSums => ({ creditsPosted: 0n, debitsPosted: 0n, debitsPending: 0n, creditLimitNano: 0n, ...over });
const receivable = (over: Partial<ReceivableSums> = {}): ReceivableSums => ({ creditsPosted: 0n, debitsPosted: 0n, ...over });

describe("buyerPosition", () => {
  // [label, credits, receivable, releasing, { balance, spendable, owed, available, held }]
  it.each([
    ["no accounts yet", null, null, undefined, [0n, 0n, 0n, 0n, 0n]],
    ["topped up $10, spent $3", credits({ creditsPosted: 10n, debitsPosted: 3n }), null, undefined, [7n, 7n, 0n, 7n, 0n]],
    ["a hold lowers spendable, not the balance", credits({ creditsPosted: 10n, debitsPending: 4n }), null, undefined, [10n, 6n, 0n, 6n, 4n]],
    ["holds being voided count as free", credits({ creditsPosted: 10n, debitsPending: 4n }), null, 3n, [10n, 9n, 0n, 9n, 1n]],
    ["the credit limit adds to spendable, not the balance", credits({ creditsPosted: 10n, creditLimitNano: 5n }), null, undefined, [10n, 15n, 0n, 15n, 0n]],
    [
      "owed money lowers balance and available, not spendable",
      credits({ creditsPosted: 10n }),
      receivable({ debitsPosted: 4n, creditsPosted: 1n }),
      undefined,
      [7n, 10n, 3n, 7n, 0n],
    ],
    ["owing more than the credit blocks (available < 0)", credits({ creditsPosted: 2n }), receivable({ debitsPosted: 5n }), undefined, [-3n, 2n, 5n, -3n, 0n]],
    ["spent past zero within the limit", credits({ creditsPosted: 1n, debitsPosted: 3n, creditLimitNano: 5n }), receivable(), undefined, [-2n, 3n, 0n, 3n, 0n]],
    [
      "repaid debt owes nothing",
      credits({ creditsPosted: 10n, debitsPosted: 4n }),
      receivable({ debitsPosted: 4n, creditsPosted: 4n }),
      undefined,
      [6n, 6n, 0n, 6n, 0n],
    ],
    [
      "amounts past 2^53 stay exact",
      credits({ creditsPosted: 9_007_199_254_740_993n, debitsPosted: 1n, debitsPending: 1n }),
      receivable({ debitsPosted: 1n }),
      undefined,
      [9_007_199_254_740_991n, 9_007_199_254_740_991n, 1n, 9_007_199_254_740_990n, 1n],
    ],
  ] as const)("%s", (_label, c, r, releasingNano, [balanceNano, spendableNano, owedNano, availableNano, heldNano]) => {
    expect(buyerPosition({ credits: c, receivable: r, releasingNano })).toEqual({ balanceNano, spendableNano, owedNano, availableNano, heldNano });
  });
});

describe("providerAvailableNano", () => {
  it.each([
    ["nothing earned", { creditsPosted: 0n, debitsPosted: 0n, debitsPending: 0n }, 0n],
    ["earned $10, paid $4", { creditsPosted: 10n, debitsPosted: 4n, debitsPending: 0n }, 6n],
    ["a payout in flight is not available again", { creditsPosted: 10n, debitsPosted: 4n, debitsPending: 5n }, 1n],
    ["all paid: nothing left", { creditsPosted: 100n, debitsPosted: 100n, debitsPending: 0n }, 0n],
    ["exact beyond 2^53 nano-USD", { creditsPosted: 9_200_000_000_000_000_001n, debitsPosted: 1n, debitsPending: 0n }, 9_200_000_000_000_000_000n],
  ] as const)("%s", (_label, a, want) => {
    expect(providerAvailableNano(a)).toBe(want);
  });
});
