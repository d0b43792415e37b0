import type { LedgerTransferCode } from "../../db/schema/ledger";

/**
 * A buyer's statement in lines they recognise (pure; the rows come from ./buyer-statement.ts):
 * what they paid in and what their requests used, per day with the request count, never the
 * platform's internals (a settlement's provider part and fee are one charge; holds are not
 * postings; a transfer between their own credit and what they owe moves nothing).
 */

/** Posted movements of the buyer's balance (credit less what is owed), signed: + paid in, − used. */
export type BuyerMovement =
  | { kind: "usage"; day: string; requests: number; amountNano: bigint }
  | { kind: "posting"; code: LedgerTransferCode; at: Date; transferId: string; amountNano: bigint };

export type BuyerLine = {
  /** UTC day, YYYY-MM-DD. */
  day: string;
  label: string;
  amountNano: bigint;
  /** The balance after this line. */
  balanceNano: bigint;
  /** Usage lines: requests settled that day (they are listed in the activity log for that day). */
  requests: number | null;
  transferId: string | null;
};

const labels: Record<LedgerTransferCode, [increase: string, decrease: string]> = {
  topup: ["Top-up", "Top-up returned"],
  usage: ["Usage", "Usage"],
  reservation: ["Hold released", "Hold charged"],
  refund: ["Refund reversed", "Refund of a top-up"],
  dispute: ["Dispute won: payment returned", "Payment disputed"],
  payment_fee: ["Payment fee returned", "Payment fee"],
  payout: ["Payout returned", "Payout"],
  promotion: ["Promotional credit", "Promotional credit withdrawn"],
  adjustment: ["Adjustment in your favour", "Adjustment"],
  reversal: ["Correction in your favour", "Correction"],
  // Moves a provider's earnings from unfunded to funded payable; never touches a buyer's balance.
  funding: ["Provider earnings funded", "Provider earnings funded"],
};

/** Lines in date order (a day's usage after its other postings) with a running balance from `openingNano`. */
export function buyerStatementLines(openingNano: bigint, movements: readonly BuyerMovement[]) {
  const keyed = movements
    .filter((m) => m.amountNano !== 0n)
    .map((m) => (m.kind === "usage" ? { m, key: `${m.day}|1|` } : { m, key: `${m.at.toISOString().slice(0, 10)}|0|${m.at.toISOString()}|${m.transferId}` }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  let balanceNano = openingNano;
  let paidInNano = 0n;
  let usedNano = 0n;
  let requests = 0;
  const lines: BuyerLine[] = keyed.map(({ m }) => {
    balanceNano += m.amountNano;
    if (m.kind === "usage") {
      usedNano -= m.amountNano;
      requests += m.requests;
      return {
        day: m.day,
        label: `Usage: ${m.requests.toLocaleString("en-US")} request${m.requests === 1 ? "" : "s"}`,
        amountNano: m.amountNano,
        balanceNano,
        requests: m.requests,
        transferId: null,
      };
    }
    if (m.code === "topup") paidInNano += m.amountNano;
    const [up, down] = labels[m.code];
    return {
      day: m.at.toISOString().slice(0, 10),
      label: m.amountNano > 0n ? up : down,
      amountNano: m.amountNano,
      balanceNano,
      requests: null,
      transferId: m.transferId,
    };
  });
  return { openingNano, lines, closingNano: balanceNano, paidInNano, usedNano, requests };
}
