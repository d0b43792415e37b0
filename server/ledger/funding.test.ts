import { describe, expect, it } from "vitest";
import { fundOldestFirst, perProvider, unfundNewestFirst, type Lot } from "./funding";

/**
 * One buyer's money against its providers' earnings, driven through the funding rules the
 * way the ledger's postings use them. Amounts in whole dollars (×1e9 nano-USD is exact).
 */
type Event = { topUp: number } | { usage: number; fee: number; provider: string } | { clawback: number } | { payout: number; provider: string };
type Expect = Record<string, { funded: number; unfunded: number; paid: number }>;

const $ = (d: number) => BigInt(d) * 1_000_000_000n;

function run(events: readonly Event[]) {
  let credit = 0n;
  let owed = 0n;
  const lots: Lot[] = [];
  const funded = new Map<string, bigint>();
  const unfunded = new Map<string, bigint>();
  const paid = new Map<string, bigint>();
  const add = (m: Map<string, bigint>, k: string, v: bigint) => m.set(k, (m.get(k) ?? 0n) + v);
  const applyMoves = (moves: ReturnType<typeof fundOldestFirst>, sign: 1n | -1n) => {
    for (const mv of moves) {
      const lot = lots.find((l) => l.settlementId === mv.settlementId)!;
      lot.unfundedNano -= sign * mv.amountNano;
    }
    for (const [p, v] of perProvider(moves)) {
      add(funded, p, sign * v);
      add(unfunded, p, -sign * v);
    }
  };
  events.forEach((e, i) => {
    if ("topUp" in e) {
      const repay = owed < $(e.topUp) ? owed : $(e.topUp);
      owed -= repay;
      credit += $(e.topUp) - repay;
      applyMoves(fundOldestFirst(lots, repay), 1n);
    } else if ("usage" in e) {
      const cost = $(e.usage);
      const share = cost - $(e.fee);
      const fromCredit = credit < cost ? credit : cost;
      credit -= fromCredit;
      owed += cost - fromCredit;
      // Provider share first from credit, as settlement splits it.
      const fundedShare = fromCredit < share ? fromCredit : share;
      lots.push({ settlementId: `s${i}`, providerOrgId: e.provider, shareNano: share, unfundedNano: share - fundedShare });
      add(funded, e.provider, fundedShare);
      add(unfunded, e.provider, share - fundedShare);
    } else if ("clawback" in e) {
      const amount = $(e.clawback);
      const fromCredit = credit < amount ? credit : amount;
      credit -= fromCredit;
      owed += amount - fromCredit;
      applyMoves(unfundNewestFirst([...lots].reverse(), amount - fromCredit, funded), -1n);
    } else {
      const room = funded.get(e.provider) ?? 0n;
      if ($(e.payout) > room) throw new Error(`payout of ${e.payout} exceeds funded ${room}`);
      add(funded, e.provider, -$(e.payout));
      add(paid, e.provider, $(e.payout));
    }
  });
  const out: Record<string, { funded: bigint; unfunded: bigint; paid: bigint }> = {};
  for (const p of new Set([...funded.keys(), ...unfunded.keys()])) {
    out[p] = { funded: funded.get(p) ?? 0n, unfunded: unfunded.get(p) ?? 0n, paid: paid.get(p) ?? 0n };
  }
  return { providers: out, owed, credit, lots };
}

const expected = (e: Expect) => Object.fromEntries(Object.entries(e).map(([p, v]) => [p, { funded: $(v.funded), unfunded: $(v.unfunded), paid: $(v.paid) }]));

const cases: { label: string; events: Event[]; expect: Expect; owed: number }[] = [
  {
    label: "usage fully funded by credit",
    events: [{ topUp: 100 }, { usage: 40, fee: 4, provider: "A" }],
    expect: { A: { funded: 36, unfunded: 0, paid: 0 } },
    owed: 0,
  },
  {
    label: "half on receivable, then repaid by two top-ups",
    events: [{ topUp: 20 }, { usage: 40, fee: 4, provider: "A" }, { topUp: 10 }, { topUp: 10 }],
    // $20 of credit covers $20 of the $36 share; the receivable holds $16 of share + $4 fee.
    // The first top-up funds $10 of the share, the second the remaining $6 (provider before fee).
    expect: { A: { funded: 36, unfunded: 0, paid: 0 } },
    owed: 0,
  },
  {
    label: "half on receivable, first top-up only: funded in part",
    events: [{ topUp: 20 }, { usage: 40, fee: 4, provider: "A" }, { topUp: 10 }],
    expect: { A: { funded: 30, unfunded: 6, paid: 0 } },
    owed: 10,
  },
  {
    label: "repayment funds oldest lots first across providers",
    events: [{ usage: 10, fee: 1, provider: "A" }, { usage: 10, fee: 1, provider: "B" }, { topUp: 12 }],
    expect: { A: { funded: 9, unfunded: 0, paid: 0 }, B: { funded: 3, unfunded: 6, paid: 0 } },
    owed: 8,
  },
  {
    label: "refund after payout: only the unpaid part is unfunded",
    events: [{ topUp: 50 }, { usage: 50, fee: 5, provider: "A" }, { payout: 40, provider: "A" }, { clawback: 50 }],
    // $45 earned, $40 paid out: the $50 refund can unfund only the $5 still funded.
    expect: { A: { funded: 0, unfunded: 5, paid: 40 } },
    owed: 50,
  },
  {
    label: "refund while credit remains: earnings stay funded",
    events: [{ topUp: 50 }, { usage: 20, fee: 2, provider: "A" }, { clawback: 30 }],
    expect: { A: { funded: 18, unfunded: 0, paid: 0 } },
    owed: 0,
  },
  {
    label: "dispute lost: the spent part is unfunded, newest lot first",
    events: [{ topUp: 30 }, { usage: 10, fee: 1, provider: "A" }, { usage: 10, fee: 1, provider: "B" }, { clawback: 25 }],
    // $10 credit left covers $10 of the dispute; $15 past it unfunds B's $9 then $6 of A's.
    expect: { A: { funded: 3, unfunded: 6, paid: 0 }, B: { funded: 0, unfunded: 9, paid: 0 } },
    owed: 15,
  },
  {
    label: "dispute won: the returned money funds them again, oldest first",
    events: [{ topUp: 30 }, { usage: 10, fee: 1, provider: "A" }, { usage: 10, fee: 1, provider: "B" }, { clawback: 25 }, { topUp: 25 }],
    expect: { A: { funded: 9, unfunded: 0, paid: 0 }, B: { funded: 9, unfunded: 0, paid: 0 } },
    owed: 0,
  },
];

describe("funding rule", () => {
  it.each(cases)("$label", ({ events, expect: want, owed }) => {
    const r = run(events);
    expect(r.providers).toEqual(expected(want));
    expect(r.owed).toBe($(owed));
    // What is unfunded is never more than the buyer owes (the platform's fee waits behind it).
    const unfunded = Object.values(r.providers).reduce((s, p) => s + p.unfunded, 0n);
    expect(unfunded <= r.owed).toBe(true);
    for (const lot of r.lots) expect(lot.unfundedNano >= 0n && lot.unfundedNano <= lot.shareNano).toBe(true);
  });

  it("a repayment never funds more than it repays or than is unfunded", () => {
    const lots: Lot[] = [
      { settlementId: "a", providerOrgId: "A", shareNano: 5n, unfundedNano: 3n },
      { settlementId: "b", providerOrgId: "B", shareNano: 4n, unfundedNano: 0n },
      { settlementId: "c", providerOrgId: "A", shareNano: 9n, unfundedNano: 9n },
    ];
    expect(fundOldestFirst(lots, 5n)).toEqual([
      { settlementId: "a", providerOrgId: "A", amountNano: 3n },
      { settlementId: "c", providerOrgId: "A", amountNano: 2n },
    ]);
    expect(perProvider(fundOldestFirst(lots, 100n)).get("A")).toBe(12n);
    expect(() => fundOldestFirst(lots, -1n)).toThrow(RangeError);
  });

  it("a clawback unfunds no provider past its funded room", () => {
    const lots: Lot[] = [{ settlementId: "a", providerOrgId: "A", shareNano: 10n, unfundedNano: 0n }];
    expect(unfundNewestFirst(lots, 10n, new Map([["A", 4n]]))).toEqual([{ settlementId: "a", providerOrgId: "A", amountNano: 4n }]);
    expect(unfundNewestFirst(lots, 10n, new Map())).toEqual([]);
  });
});
