import { describe, expect, it } from "vitest";
import { buyerStatementLines, type BuyerMovement } from "./buyer-lines";

const at = (s: string) => new Date(s);
const topup = (when: string, amountNano: bigint, transferId = `t-${when}`): BuyerMovement => ({
  kind: "posting",
  code: "topup",
  at: at(when),
  transferId,
  amountNano,
});

describe("buyerStatementLines: lines a buyer recognises, with a running balance", () => {
  it("a settlement is one usage line per day with its request count, after the day's top-up", () => {
    const s = buyerStatementLines(1_000n, [{ kind: "usage", day: "2026-12-04", requests: 6, amountNano: -120n }, topup("2026-12-04T09:00:00Z", 5_000n)]);
    expect(s.lines.map((l) => [l.day, l.label, l.amountNano, l.balanceNano, l.requests])).toEqual([
      ["2026-12-04", "Top-up", 5_000n, 6_000n, null],
      ["2026-12-04", "Usage: 6 requests", -120n, 5_880n, 6],
    ]);
    expect(s).toMatchObject({ openingNano: 1_000n, closingNano: 5_880n, paidInNano: 5_000n, usedNano: 120n, requests: 6 });
  });

  it.each([
    ["one request is singular", { kind: "usage", day: "2026-12-01", requests: 1, amountNano: -5n } as BuyerMovement, "Usage: 1 request"],
    [
      "a refund reads as one",
      { kind: "posting", code: "refund", at: at("2026-12-02T00:00:00Z"), transferId: "r", amountNano: -500n } as BuyerMovement,
      "Refund of a top-up",
    ],
    [
      "a dispute lost",
      { kind: "posting", code: "dispute", at: at("2026-12-02T00:00:00Z"), transferId: "d", amountNano: -500n } as BuyerMovement,
      "Payment disputed",
    ],
    [
      "a dispute won",
      { kind: "posting", code: "dispute", at: at("2026-12-03T00:00:00Z"), transferId: "w", amountNano: 500n } as BuyerMovement,
      "Dispute won: payment returned",
    ],
  ])("%s", (_label, movement, label) => {
    expect(buyerStatementLines(0n, [movement]).lines[0]?.label).toBe(label);
  });

  it("drops movements that net to nothing (credit repaying what is owed) and orders days", () => {
    const s = buyerStatementLines(0n, [
      { kind: "usage", day: "2026-12-05", requests: 2, amountNano: -20n },
      { kind: "posting", code: "topup", at: at("2026-12-05T10:00:00Z"), transferId: "inner", amountNano: 0n },
      { kind: "usage", day: "2026-12-03", requests: 4, amountNano: -40n },
      topup("2026-12-01T08:00:00Z", 100n),
    ]);
    expect(s.lines.map((l) => l.day)).toEqual(["2026-12-01", "2026-12-03", "2026-12-05"]);
    expect(s.lines.at(-1)?.balanceNano).toBe(s.closingNano);
    expect(s.closingNano).toBe(s.openingNano + s.lines.reduce((sum, l) => sum + l.amountNano, 0n));
    expect([s.usedNano, s.requests]).toEqual([60n, 6]);
  });
});
