import { describe, expect, it } from "vitest";
import { comparablePer1MNano, priceBasis, tokensPerDollar } from "./comparable";

describe("comparablePer1MNano: each modality its own honest price per 1M", () => {
  it.each([
    ["chat at $0.14 in / $0.28 out: the 3:1 blend, $0.175", ["chat"], 140_000n, 280_000n, 175_000_000n],
    ["completion is blended too", ["completion"], 140_000n, 280_000n, 175_000_000n],
    ["embeddings at $0.02 per 1M: $0.02, not the blend's $0.015", ["embeddings"], 20_000n, 0n, 20_000_000n],
    ["embeddings ignore an output price they never bill", ["embeddings"], 20_000n, 999_000n, 20_000_000n],
    ["chat that also embeds is quoted as chat", ["chat", "embeddings"], 20_000n, 60_000n, 30_000_000n],
    ["free chat", ["chat"], 0n, 0n, 0n],
  ] as const)("%s", (_label, modalities, inputPer1kNano, outputPer1kNano, expected) => {
    expect(comparablePer1MNano({ inputPer1kNano, outputPer1kNano }, modalities)).toBe(expected);
  });

  it.each([
    [["chat"], "blend"],
    [["embeddings"], "input"],
    [["completion", "embeddings"], "blend"],
  ] as const)("%j is priced by %s", (modalities, basis) => expect(priceBasis(modalities)).toBe(basis));
});

describe("tokensPerDollar at the comparable price", () => {
  it.each([
    ["$0.175 per 1M blended → 5.71M tokens", 175_000_000n, 5_714_285.714],
    ["embeddings at $0.02 per 1M → 50M tokens, not 66.7M", 20_000_000n, 50_000_000],
    ["$1 per 1M → 1M tokens", 1_000_000_000n, 1_000_000],
  ])("%s", (_label, per1M, tokens) => expect(tokensPerDollar(per1M)).toBeCloseTo(tokens, 2));
  it("free is unbounded (null)", () => expect(tokensPerDollar(0n)).toBeNull());
});
