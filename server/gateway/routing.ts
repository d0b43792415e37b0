import { comparablePer1MNano } from "../catalog/comparable";
import { priceInForce } from "../catalog/price-in-force";
import { efficiencyFigure } from "../economy/energy";
import type { PriceVersion, RoutingListing } from "./backend";

/**
 * Which providers may serve a request, in the order to try them. Pure: the
 * catalog, the request's `model` and `provider` preferences, the key's
 * allowlist and this proxy's own throughput measurements in; a decision out.
 */

export type Endpoint = "chat" | "completion" | "embeddings";

export type Policy = "price" | "efficiency" | "throughput";

const ENDPOINT_NAMES: Record<Endpoint, string> = {
  chat: "chat completions (/v1/chat/completions)",
  completion: "text completions (/v1/completions)",
  embeddings: "embeddings (/v1/embeddings)",
};

/** OpenRouter's `provider` object (plus `allow`/`deny` as aliases of `only`/`ignore`, and sort "efficiency"). */
export type ProviderPreferences = {
  order?: string[];
  only?: string[];
  ignore?: string[];
  allow_fallbacks?: boolean;
  sort?: Policy;
};

export type RouteDecision =
  | { ok: true; candidates: RoutingListing[]; policy: Policy; family: boolean }
  | { ok: false; code: "unknown_model" | "model_not_allowed" | "wrong_endpoint" | "no_provider"; message: string };

/**
 * The price in force at `now` (server/catalog/price-in-force.ts) among the versions the catalog
 * handed out: a scheduled one once its time has come, else the current one. Prices change only
 * after a notice longer than a catalog refresh, so the table always holds the version settlement charges.
 */
export function priceAt(listing: RoutingListing, now: number): PriceVersion {
  if (listing.scheduledPrices.length === 0) return listing.currentPrice;
  return priceInForce([listing.currentPrice, ...listing.scheduledPrices], now) ?? listing.currentPrice;
}

const stringList = (v: unknown): string[] | null =>
  v === undefined || v === null ? [] : Array.isArray(v) && v.every((s) => typeof s === "string") ? v.map((s) => s.toLowerCase()) : null;

const SORTS: Record<string, Policy> = {
  price: "price",
  cheapest: "price",
  efficiency: "efficiency",
  throughput: "throughput",
  fastest: "throughput",
  latency: "throughput",
};

/** Validates the request's `provider` object; a string message names the bad field. */
export function parseProviderPreferences(raw: unknown): ProviderPreferences | string {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== "object" || Array.isArray(raw)) return "provider: must be an object";
  const p = raw as Record<string, unknown>;
  const order = stringList(p.order);
  const only = stringList(p.only ?? p.allow);
  const ignore = stringList(p.ignore ?? p.deny);
  if (!order) return "provider.order: must be an array of provider or listing slugs";
  if (!only) return "provider.only: must be an array of provider or listing slugs";
  if (!ignore) return "provider.ignore: must be an array of provider or listing slugs";
  if (p.allow_fallbacks !== undefined && typeof p.allow_fallbacks !== "boolean") return "provider.allow_fallbacks: must be true or false";
  let sort: Policy | undefined;
  if (p.sort !== undefined) {
    sort = typeof p.sort === "string" ? SORTS[p.sort] : undefined;
    if (!sort) return 'provider.sort: must be "price", "efficiency" or "throughput"';
  }
  return { order, only, ignore, allow_fallbacks: p.allow_fallbacks as boolean | undefined, sort };
}

/** A provider preference entry names an organisation (`demo-provider`) or one listing (`demo-provider/llama-3.1-8b`). */
const names = (entry: string, l: RoutingListing) => entry === l.orgSlug || entry === l.slug;

/** An empty allowlist allows everything; otherwise a listing is allowed by its slug or its family. */
export function allowedByKey(allowlist: string[], l: RoutingListing): boolean {
  return allowlist.length === 0 || allowlist.includes(l.slug) || allowlist.includes(l.family);
}

function endpointName(e: string): string {
  return ENDPOINT_NAMES[e as Endpoint] ?? e;
}

/** Output tokens per second: the platform's measured median, else this proxy's own figure, else -1 (unmeasured). */
function speedOf(l: RoutingListing, throughput: ((listingId: string) => number | undefined) | undefined): number {
  return l.measured?.medianOutputTokensPerSecond ?? throughput?.(l.listingId) ?? -1;
}

/** Where `provider.order` puts a listing (after every named one when it is not named). */
function rankOf(order: string[], l: RoutingListing): number {
  const i = order.findIndex((e) => names(e, l));
  return i === -1 ? order.length : i;
}

const byPrice = (now: number) => (a: RoutingListing, b: RoutingListing) => {
  const pa = comparablePer1MNano(priceAt(a, now), a.modalities);
  const pb = comparablePer1MNano(priceAt(b, now), b.modalities);
  return pa < pb ? -1 : pa > pb ? 1 : a.slug < b.slug ? -1 : 1;
};

/** The tokens per watt "most efficient" ranks a listing by (efficiencyFigure: measured past its sample, else declared). */
const efficiencyOf = (l: RoutingListing) =>
  efficiencyFigure(l.measuredEnergy?.tokensPerJoule ?? null, l.measuredEnergy?.sampleTokens ?? 0, l.tokensPerWatt).tokensPerWatt;

/**
 * Orders the providers of a model and drops those the request or key excludes.
 * `model` is a listing slug (exactly that listing) or a family (every
 * published provider of it, ordered by `provider.order` first, then by the
 * policy). Policies: price = the comparable price (3:1 blend; input for embeddings), cheapest first (the default);
 * efficiency = tokens per watt, highest first: measured (catalog.routing's `measuredEnergy`) where its
 * sample reaches 1M tokens, else declared; throughput = median
 * output tokens per second that settled traffic measured over the last 24 h
 * (`measured`, from the dashboards' rollups via catalog.routing), else what
 * this proxy measured itself (`throughput`), fastest first. Listings nobody has
 * measured sort after measured ones and by price among themselves: without
 * measurements, "fastest" is "cheapest".
 */
export function chooseProviders(p: {
  listings: RoutingListing[];
  model: string;
  endpoint: Endpoint;
  preferences: ProviderPreferences;
  allowlist: string[];
  throughput?: (listingId: string) => number | undefined;
  now: number;
}): RouteDecision {
  const model = p.model.toLowerCase();
  const exact = p.listings.filter((l) => l.slug === model);
  const family = exact.length === 0;
  const { order = [], only = [], ignore = [] } = p.preferences;
  const policy: Policy = p.preferences.sort ?? "price";
  // The usual request, one listing by its slug and nothing to exclude: no filtering or ranking to do.
  const one = exact.length === 1 ? exact[0]! : null;
  if (one && only.length === 0 && ignore.length === 0 && allowedByKey(p.allowlist, one) && one.modalities.includes(p.endpoint)) {
    return { ok: true, candidates: exact, policy, family: false };
  }
  const matching = family ? p.listings.filter((l) => l.family === model) : exact;
  if (matching.length === 0) return { ok: false, code: "unknown_model", message: `The model \`${p.model}\` does not exist or is not published` };
  const allowed = matching.filter((l) => allowedByKey(p.allowlist, l));
  if (allowed.length === 0) return { ok: false, code: "model_not_allowed", message: `This API key may not use \`${p.model}\`` };
  const served = [...new Set(allowed.flatMap((l) => l.modalities))];
  if (!served.includes(p.endpoint)) {
    return {
      ok: false,
      code: "wrong_endpoint",
      message: `The model \`${p.model}\` does not serve ${endpointName(p.endpoint)}; it serves ${served.map(endpointName).join(" and ")}`,
    };
  }
  const serving = allowed.filter(
    (l) => l.modalities.includes(p.endpoint) && (only.length === 0 || only.some((e) => names(e, l))) && !ignore.some((e) => names(e, l)),
  );
  if (serving.length === 0) {
    return { ok: false, code: "no_provider", message: `No provider of \`${p.model}\` serves ${p.endpoint} requests within the given provider preferences` };
  }
  const price = byPrice(p.now);
  const ranked = [...serving].sort((a, b) => {
    if (policy === "efficiency") {
      const d = (efficiencyOf(b) ?? 0) - (efficiencyOf(a) ?? 0);
      if (d !== 0) return d;
    } else if (policy === "throughput") {
      const d = speedOf(b, p.throughput) - speedOf(a, p.throughput);
      if (d !== 0) return d;
    }
    return price(a, b);
  });
  const candidates = order.length
    ? ranked
        .map((l, i) => ({ l, i }))
        .sort((a, b) => rankOf(order, a.l) - rankOf(order, b.l) || a.i - b.i)
        .map((x) => x.l)
    : ranked;
  return { ok: true, candidates: p.preferences.allow_fallbacks === false ? candidates.slice(0, 1) : candidates, policy, family };
}
