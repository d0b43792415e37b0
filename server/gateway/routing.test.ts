import { describe, expect, it } from "vitest";
import { fakeListing } from "./fake-backend";
import { chooseProviders, parseProviderPreferences, priceAt, type ProviderPreferences } from "./routing";

const url = "http://upstream.test/v1";
// Blended 3:1 prices: a = 0.0475, b = 0.0425 (cheapest), c = 0.06 $/1M; c is the most efficient.
const a = fakeListing(url, { slug: "alpha/llama-3.1-8b", family: "llama-3.1-8b", input: 50_000n, output: 40_000n, tokensPerWatt: 6.5 });
const b = fakeListing(url, { slug: "beta/llama-3.1-8b", family: "llama-3.1-8b", input: 40_000n, output: 50_000n, tokensPerWatt: 2 });
const c = fakeListing(url, { slug: "gamma/llama-3.1-8b", family: "llama-3.1-8b", input: 60_000n, output: 60_000n, tokensPerWatt: 9.2, modalities: ["chat"] });
const e = fakeListing(url, { slug: "alpha/embed", family: "embed", modalities: ["embeddings"] });
const listings = [a, b, c, e];
const now = Date.now();

function route(
  model: string,
  preferences: ProviderPreferences = {},
  opts: { allowlist?: string[]; endpoint?: "chat" | "completion" | "embeddings"; throughput?: Record<string, number>; measured?: Record<string, number> } = {},
) {
  const measured = (l: (typeof listings)[number]) =>
    opts.measured?.[l.listingId] === undefined
      ? l
      : { ...l, measured: { requests: 100, successRate: 1, medianOutputTokensPerSecond: opts.measured[l.listingId]!, medianTtftMs: 200 } };
  const d = chooseProviders({
    listings: listings.map(measured),
    model,
    endpoint: opts.endpoint ?? "chat",
    preferences,
    allowlist: opts.allowlist ?? [],
    throughput: (id) => opts.throughput?.[id],
    now,
  });
  return d.ok ? d.candidates.map((l) => l.orgSlug) : d.code;
}

describe("chooseProviders", () => {
  it.each([
    ["a listing slug is that listing only", "alpha/llama-3.1-8b", {}, {}, ["alpha"]],
    ["a family is every provider, cheapest first by default", "llama-3.1-8b", {}, {}, ["beta", "alpha", "gamma"]],
    ["case does not matter", "LLAMA-3.1-8B", {}, {}, ["beta", "alpha", "gamma"]],
    ["efficiency: tokens per watt, highest first", "llama-3.1-8b", { sort: "efficiency" }, {}, ["gamma", "alpha", "beta"]],
    [
      "throughput: measured first, unmeasured by price",
      "llama-3.1-8b",
      { sort: "throughput" },
      { throughput: { [c.listingId]: 90 } },
      ["gamma", "beta", "alpha"],
    ],
    ["throughput with no measurements is the price order", "llama-3.1-8b", { sort: "throughput" }, {}, ["beta", "alpha", "gamma"]],
    [
      "throughput: the platform's 24 h median before this proxy's own",
      "llama-3.1-8b",
      { sort: "throughput" },
      { throughput: { [c.listingId]: 90 }, measured: { [a.listingId]: 120 } },
      ["alpha", "gamma", "beta"],
    ],
    ["order puts named providers first", "llama-3.1-8b", { order: ["gamma", "alpha"] }, {}, ["gamma", "alpha", "beta"]],
    ["order may name a listing slug", "llama-3.1-8b", { order: ["alpha/llama-3.1-8b"] }, {}, ["alpha", "beta", "gamma"]],
    ["only keeps the named", "llama-3.1-8b", { only: ["alpha", "gamma"] }, {}, ["alpha", "gamma"]],
    ["ignore drops the named", "llama-3.1-8b", { ignore: ["beta"] }, {}, ["alpha", "gamma"]],
    ["no fallbacks: the first only", "llama-3.1-8b", { allow_fallbacks: false }, {}, ["beta"]],
    ["the endpoint filters by modality", "llama-3.1-8b", {}, { endpoint: "completion" }, ["beta", "alpha"]],
    ["the allowlist by family", "llama-3.1-8b", {}, { allowlist: ["llama-3.1-8b"] }, ["beta", "alpha", "gamma"]],
    ["the allowlist by slug narrows a family", "llama-3.1-8b", {}, { allowlist: ["gamma/llama-3.1-8b"] }, ["gamma"]],
    ["unknown model", "nope", {}, {}, "unknown_model"],
    ["a slug outside the allowlist", "alpha/llama-3.1-8b", {}, { allowlist: ["embed"] }, "model_not_allowed"],
    ["preferences excluding everyone", "llama-3.1-8b", { only: ["delta"] }, {}, "no_provider"],
    ["a model without the endpoint's modality: the wrong endpoint, not a lack of providers", "embed", {}, { endpoint: "chat" }, "wrong_endpoint"],
  ] as const)("%s", (_label, model, prefs, opts, expected) => {
    expect(route(model, prefs as ProviderPreferences, opts as never)).toEqual(expected);
  });
});

describe("parseProviderPreferences", () => {
  it("accepts OpenRouter's fields and our aliases", () => {
    expect(parseProviderPreferences({ order: ["A"], allow: ["b"], deny: ["c"], allow_fallbacks: false, sort: "price" })).toEqual({
      order: ["a"],
      only: ["b"],
      ignore: ["c"],
      allow_fallbacks: false,
      sort: "price",
    });
    expect(parseProviderPreferences({ sort: "latency" })).toMatchObject({ sort: "throughput" });
    expect(parseProviderPreferences(undefined)).toEqual({});
  });

  it.each([
    ["not an object", "cheapest", /^provider: must be an object/],
    ["order not a list", { order: "a" }, /^provider\.order/],
    ["a bad sort", { sort: "random" }, /^provider\.sort/],
    ["allow_fallbacks not boolean", { allow_fallbacks: "no" }, /^provider\.allow_fallbacks/],
  ])("refuses %s, naming the field", (_label, raw, message) => {
    expect(parseProviderPreferences(raw)).toMatch(message);
  });
});

describe("priceAt", () => {
  it("switches to a scheduled price once it takes effect", () => {
    const later = { effectiveFrom: new Date(now + 60_000), inputPer1kNano: 1n, outputPer1kNano: 2n, cachedInputPer1kNano: 0n };
    const l = { ...a, scheduledPrices: [later] };
    expect(priceAt(l, now).inputPer1kNano).toBe(50_000n);
    expect(priceAt(l, now + 60_000).inputPer1kNano).toBe(1n);
  });
});

describe("efficiency routing uses measured energy where the sample suffices", () => {
  // gamma declares 9.2 tokens/J but measured 1.5 over 2M tokens: it falls behind alpha (6.5) and beta (2).
  const withEnergy = (tokensPerJoule: number, sampleTokens: number) => [a, b, { ...c, measuredEnergy: { tokensPerJoule, sampleTokens } }, e];
  const order = (ls: (typeof listings)[number][]) => {
    const d = chooseProviders({ listings: ls, model: "llama-3.1-8b", endpoint: "chat", preferences: { sort: "efficiency" }, allowlist: [], now });
    return d.ok ? d.candidates.map((l) => l.orgSlug) : d.code;
  };
  it.each([
    ["measured over 2M tokens replaces the declaration", 1.5, 2_000_000, ["alpha", "beta", "gamma"]],
    ["measured over too few tokens is ignored: declared order", 1.5, 10_000, ["gamma", "alpha", "beta"]],
    ["measured better than declared moves it up too", 12, 2_000_000, ["gamma", "alpha", "beta"]],
  ] as const)("%s", (_label, tpj, sample, expected) => {
    expect(order(withEnergy(tpj, sample))).toEqual(expected);
  });
});
