import { describe, expect, it } from "vitest";
import { payableCents, planRun, type RunCandidate } from "./run-plan";

const connected = { accountId: "acct_1", payoutsEnabled: true };
const c = (fundedNano: bigint, connect: RunCandidate["connect"] = connected): RunCandidate => ({ orgId: "o", orgName: "P", fundedNano, connect });

describe("payout run plan", () => {
  it.each([
    { label: "connected, above the minimum: paid", candidate: c(25_000_000_000n), decision: "pay", cents: 2500 },
    { label: "exactly the minimum: paid", candidate: c(10_000_000_000n), decision: "pay", cents: 1000 },
    { label: "a cent below the minimum: skipped", candidate: c(9_990_000_000n), decision: "below_minimum", cents: 999 },
    { label: "sub-cent rest rounds down", candidate: c(25_009_999_999n), decision: "pay", cents: 2500 },
    { label: "not connected: skipped", candidate: c(25_000_000_000n, null), decision: "not_onboarded", cents: 2500 },
    {
      label: "connected, payouts not enabled yet: skipped",
      candidate: c(25_000_000_000n, { accountId: "a", payoutsEnabled: false }),
      decision: "not_onboarded",
      cents: 2500,
    },
    { label: "nothing funded: skipped", candidate: c(0n), decision: "below_minimum", cents: 0 },
  ])("$label", ({ candidate, decision, cents }) => {
    const [line] = planRun([candidate], 1000);
    expect(line).toMatchObject({ decision, amountCents: cents });
  });

  it("a negative balance is never paid", () => {
    expect(payableCents(-5n)).toBe(0);
  });
});
