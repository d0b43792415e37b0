import { describe, expect, it } from "vitest";
import { providerAvailableNano } from "./reports";

describe("providerAvailableNano", () => {
  it.each([
    { label: "earned, nothing paid or held", creditsPosted: 100n, debitsPosted: 0n, debitsPending: 0n, out: 100n },
    { label: "part paid out", creditsPosted: 100n, debitsPosted: 40n, debitsPending: 0n, out: 60n },
    { label: "a pending debit holds its part", creditsPosted: 100n, debitsPosted: 40n, debitsPending: 25n, out: 35n },
    { label: "all paid: nothing left", creditsPosted: 100n, debitsPosted: 100n, debitsPending: 0n, out: 0n },
    { label: "exact beyond 2^53 nano-USD", creditsPosted: 9_200_000_000_000_000_001n, debitsPosted: 1n, debitsPending: 0n, out: 9_200_000_000_000_000_000n },
  ])("$label", ({ label: _label, out, ...sums }) => {
    expect(providerAvailableNano(sums)).toBe(out);
  });
});
