import { describe, expect, it } from "vitest";
import { routingOutput } from "./catalog";

const price = { effectiveFrom: new Date("2030-01-01T00:00:00Z"), inputPer1kNano: 1n, outputPer1kNano: 2n, cachedInputPer1kNano: 0n };
const listing = {
  listingId: "l1",
  slug: "org/model",
  orgId: "o1",
  orgSlug: "org",
  family: "model",
  modalities: ["chat"],
  contextLength: 8192,
  upstreamBaseUrl: "https://upstream.example/v1",
  upstreamModel: "m",
  upstreamCredential: "sk-upstream",
  tokensPerWatt: null,
  tokenizer: "llama3",
  currentPrice: price,
  scheduledPrices: [],
  measured: null,
};

describe("catalog.routing's output is strict: it hands out credentials, so nothing unnamed travels", () => {
  it.each([
    ["a listing as routingTable builds it passes", { listings: [listing], nextCursor: null }, true],
    ["the credential's ciphertext beside it is refused", { listings: [{ ...listing, upstreamCredentialEnc: "v1.abc" }], nextCursor: null }, false],
    ["an unnamed field in a price is refused", { listings: [{ ...listing, currentPrice: { ...price, createdBy: "u1" } }], nextCursor: null }, false],
    ["an unnamed field on the page is refused", { listings: [], nextCursor: null, debug: true }, false],
  ])("%s", (_label, page, ok) => {
    expect(routingOutput.safeParse(page).success).toBe(ok);
  });
});
