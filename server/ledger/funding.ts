/**
 * "Pay when paid": which provider earnings the buyer's money stands behind. Pure, no I/O.
 *
 * An earnings lot is one usage settlement's provider share (cost − fee) for one
 * (buyer, provider); part of it may be unfunded. The ledger keeps the two parts apart
 * in two accounts of the provider (server/ledger/funding-store.ts posts these):
 *
 *   usage settled from buyer_credits      buyer_credits    → provider_payable           (funded at once)
 *   usage settled on buyer_receivable     buyer_receivable → provider_payable, then
 *                                         provider_payable → provider_unfunded         (code funding)
 *   a top-up repays the receivable        provider_unfunded → provider_payable         (code funding, fundOldestFirst)
 *   a refund/dispute past buyer credit    provider_payable → provider_unfunded         (code funding, unfundNewestFirst)
 *   payout                                provider_payable → payouts                   (funded part only)
 *
 * provider_payable therefore holds exactly the funded, unpaid earnings, and its limit
 * (debits never above credits) is what keeps every payout within them.
 *
 * Rules:
 *  - A repayment of the buyer's receivable funds that buyer's unfunded lots oldest first
 *    (settlement order), provider shares before the platform's fee: the platform carries
 *    the risk of an unpaid receivable before its providers do.
 *  - A clawback past the buyer's credit is money the buyer had already spent; it unfunds
 *    that buyer's funded lots newest first, each provider at most what its funded payable
 *    still holds. What was already paid out stays paid: the platform bears that loss and
 *    the receivable still records what the buyer owes.
 */

export type Lot = { settlementId: string; providerOrgId: string; shareNano: bigint; unfundedNano: bigint };

export type Move = { settlementId: string; providerOrgId: string; amountNano: bigint };

const min = (a: bigint, b: bigint) => (a < b ? a : b);

/**
 * Funds `repaidNano` of lots given oldest first; returns the per-lot amounts funded
 * (together at most `repaidNano` and at most what is unfunded). Exact, no rounding.
 */
export function fundOldestFirst(lotsOldestFirst: readonly Lot[], repaidNano: bigint): Move[] {
  if (repaidNano < 0n) throw new RangeError("repaidNano must not be negative");
  let left = repaidNano;
  const moves: Move[] = [];
  for (const lot of lotsOldestFirst) {
    if (left === 0n) break;
    const take = min(lot.unfundedNano, left);
    if (take <= 0n) continue;
    moves.push({ settlementId: lot.settlementId, providerOrgId: lot.providerOrgId, amountNano: take });
    left -= take;
  }
  return moves;
}

/**
 * Unfunds up to `clawbackNano` of lots given newest first, each lot at most its funded part
 * (share − unfunded) and each provider at most `fundedRoomNano` (its funded payable not yet
 * paid out or held). Returns the per-lot amounts; their sum may be below `clawbackNano`.
 */
export function unfundNewestFirst(lotsNewestFirst: readonly Lot[], clawbackNano: bigint, fundedRoomNano: ReadonlyMap<string, bigint>): Move[] {
  if (clawbackNano < 0n) throw new RangeError("clawbackNano must not be negative");
  let left = clawbackNano;
  const room = new Map(fundedRoomNano);
  const moves: Move[] = [];
  for (const lot of lotsNewestFirst) {
    if (left === 0n) break;
    const providerRoom = room.get(lot.providerOrgId) ?? 0n;
    const take = min(min(lot.shareNano - lot.unfundedNano, left), providerRoom);
    if (take <= 0n) continue;
    moves.push({ settlementId: lot.settlementId, providerOrgId: lot.providerOrgId, amountNano: take });
    room.set(lot.providerOrgId, providerRoom - take);
    left -= take;
  }
  return moves;
}

/** Moves summed per provider, in first-seen order (one ledger transfer each). */
export function perProvider(moves: readonly Move[]): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const m of moves) out.set(m.providerOrgId, (out.get(m.providerOrgId) ?? 0n) + m.amountNano);
  return out;
}
