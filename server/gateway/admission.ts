import { usdDecimal, type PricesPer1k } from "../ledger/money";
import type { ActiveKey, RoutingListing } from "./backend";
import type { CachedKey } from "./key-cache";
import { affordableOutputTokens, defaultMaxTokens, worstCaseNano } from "./estimate";
import { choicesOf, worstPrices } from "./inputs";
import { apiError, unavailable } from "./openai-errors";
import type { RateCheck } from "./rate-limit";
import type { Refuse } from "./request";
import { isHold, type Hold, type Refusal } from "./reservations";
import { chooseProviders, parseProviderPreferences, type Endpoint, type ProviderPreferences } from "./routing";
import type { GatewayState } from "./state";

/**
 * Admission, after authentication (auth.ts) and validation (request.ts): the
 * route (which providers may serve the request), the key's limits, then the
 * credit hold. Each stage answers synchronously from the proxy's caches and
 * returns a promise only when it must ask the backend; a refused request is
 * answered through `refuse` and the stage returns null.
 */

/** The providers that may serve the request, best first; null once refused. */
export function routeRequest(
  s: GatewayState,
  key: ActiveKey,
  body: Record<string, unknown>,
  endpoint: Endpoint,
  started: number,
  refuse: Refuse,
): RoutingListing[] | null | Promise<RoutingListing[] | null> {
  const model = body.model as string;
  const prefs = parseProviderPreferences(body.provider);
  if (typeof prefs === "string") {
    refuse(apiError("INVALID_INPUT", "invalid_value", prefs, { param: "provider" }));
    return null;
  }
  let found: ReturnType<typeof s.catalog.candidates>;
  try {
    found = s.catalog.candidates(model);
  } catch (err) {
    return catalogDown(s, err, refuse);
  }
  // Closures only on the slow path: the usual request allocates none here.
  if (found instanceof Promise) {
    return found.then(
      (listings) => chooseRoute(s, key, listings, model, endpoint, prefs, started, refuse),
      (err: unknown) => catalogDown(s, err, refuse),
    );
  }
  return chooseRoute(s, key, found, model, endpoint, prefs, started, refuse);
}

function chooseRoute(
  s: GatewayState,
  key: ActiveKey,
  listings: RoutingListing[],
  model: string,
  endpoint: Endpoint,
  preferences: ProviderPreferences,
  started: number,
  refuse: Refuse,
): RoutingListing[] | null {
  const route = chooseProviders({ listings, model, endpoint, preferences, allowlist: key.modelAllowlist, throughput: s.catalog.throughput, now: started });
  if (route.ok) return route.candidates;
  if (route.code === "unknown_model") refuse(apiError("NOT_FOUND", "model_not_found", route.message, { param: "model" }));
  else if (route.code === "model_not_allowed") refuse(apiError("FORBIDDEN", "model_not_allowed", route.message, { param: "model" }));
  else if (route.code === "wrong_endpoint") refuse(apiError("INVALID_INPUT", "model_not_supported", route.message, { param: "model" }));
  else refuse(unavailable("no_provider_available", route.message));
  return null;
}

function catalogDown(s: GatewayState, err: unknown, refuse: Refuse): null {
  s.log("catalog unavailable", { err });
  refuse(unavailable("backend_unavailable", "The model catalog is not available right now; try again shortly"));
  return null;
}

/** The key's rate limits (their headers go on every answer) and its spend limit; false once refused. A promise only when the limits are shared through Redis. */
export function admitLimits(
  s: GatewayState,
  key: ActiveKey,
  cached: CachedKey,
  promptTokens: number,
  started: number,
  headers: Record<string, string>,
  refuse: Refuse,
): boolean | Promise<boolean> {
  const rate = s.rates.admit(key.keyId, { rpm: key.rpmLimit, tpm: key.tpmLimit }, promptTokens, started);
  if (rate instanceof Promise) return rate.then((r) => applyLimits(key, cached, r, headers, refuse));
  return applyLimits(key, cached, rate, headers, refuse);
}

function applyLimits(key: ActiveKey, cached: CachedKey, rate: RateCheck, headers: Record<string, string>, refuse: Refuse): boolean {
  Object.assign(headers, rate.headers);
  if (!rate.ok) {
    headers["retry-after"] = String(rate.retryAfterSeconds);
    refuse(
      apiError("RATE_LIMITED", "rate_limit_exceeded", `Rate limit reached for ${rate.which} per minute on this key; try again in ${rate.retryAfterSeconds} s`),
    );
    return false;
  }
  if (key.spendLimitNano !== null && key.currentPeriodSpendNano + cached.localSpendNano >= key.spendLimitNano) {
    refuse(
      apiError("LIMIT_EXCEEDED", "key_limit_reached", `This API key's ${key.limitPeriod ?? ""} spend limit of $${usdDecimal(key.spendLimitNano)} is reached`),
    );
    return false;
  }
  return true;
}

/** A request's credit hold and the output it may produce within it. */
export type Held = {
  hold: Hold;
  /** max_tokens per choice as sent upstream: the client's, or what the proxy picked and the credit affords. */
  maxTokens: number;
  choices: number;
  /** The smallest context length among the candidates. */
  contextLength: number;
};

/**
 * Holds the worst case: prompt + max_tokens for each of the n choices, at the
 * dearest candidate's prices. Without an explicit max_tokens the proxy picks
 * one, so it may pick what the credit affords (as OpenRouter does). Null once refused.
 */
export function holdCredit(
  s: GatewayState,
  key: ActiveKey,
  body: Record<string, unknown>,
  endpoint: Endpoint,
  candidates: RoutingListing[],
  promptTokens: number,
  started: number,
  refuse: Refuse,
): Held | null | Promise<Held | null> {
  const prices = worstPrices(candidates, started);
  const choices = endpoint === "embeddings" ? 1 : choicesOf(body);
  const requested = endpoint === "embeddings" ? null : ((body.max_completion_tokens ?? body.max_tokens ?? null) as number | null);
  let contextLength = Infinity;
  for (const l of candidates) if (l.contextLength < contextLength) contextLength = l.contextLength;
  const maxTokens = endpoint === "embeddings" ? 0 : (requested ?? defaultMaxTokens(contextLength, promptTokens, s.config.defaultMaxTokens));
  const estimate = worstCaseNano(promptTokens, maxTokens * choices, prices);
  const flexible = endpoint !== "embeddings" && requested === null;
  const ask: Ask = { prices, promptTokens, choices, requested, maxTokens, estimate, flexible, contextLength };
  let held: ReturnType<typeof s.credit.acquire>;
  try {
    held = s.credit.acquire(key.keyId, estimate, flexible ? worstCaseNano(promptTokens, choices, prices) : undefined, candidates[0]!.listingId);
  } catch (err) {
    return creditDown(s, err, refuse);
  }
  if (held instanceof Promise) {
    return held.then(
      (got) => granted(got, ask, refuse),
      (err: unknown) => creditDown(s, err, refuse),
    );
  }
  return granted(held, ask, refuse);
}

/** What was asked of the credit control, for reading its answer. */
type Ask = {
  prices: PricesPer1k;
  promptTokens: number;
  choices: number;
  requested: number | null;
  maxTokens: number;
  estimate: bigint;
  flexible: boolean;
  contextLength: number;
};

function granted(got: Hold | Refusal, a: Ask, refuse: Refuse): Held | null {
  if (!isHold(got)) {
    if (got.limitedBy === "unavailable") refuse(unavailable("backend_unavailable", "Credit could not be reserved right now; try again shortly"));
    else if (got.limitedBy === "key_limit") refuse(apiError("LIMIT_EXCEEDED", "key_limit_reached", "This API key's spend limit for the period is reached"));
    else if (got.limitedBy === "blocked") refuse(apiError("INSUFFICIENT_CREDIT", "account_blocked", "This organisation cannot spend credit right now"));
    else {
      const affordable = Math.floor((affordableOutputTokens(got.availableNano, a.promptTokens, a.prices) ?? 0) / a.choices);
      refuse(
        apiError(
          "INSUFFICIENT_CREDIT",
          "insufficient_credit",
          a.requested !== null && affordable > 0
            ? `This request requires more credits, or fewer max_tokens. You requested up to ${a.requested} tokens, but can only afford ${affordable}.`
            : "Insufficient credit for this request: top up the organisation's credits",
        ),
      );
    }
    return null;
  }
  const maxTokens =
    a.flexible && got.amountNano < a.estimate
      ? Math.max(
          1,
          Math.min(a.maxTokens, Math.floor((affordableOutputTokens(got.amountNano, a.promptTokens, a.prices) ?? a.maxTokens * a.choices) / a.choices)),
        )
      : a.maxTokens;
  return { hold: got, maxTokens, choices: a.choices, contextLength: a.contextLength };
}

function creditDown(s: GatewayState, err: unknown, refuse: Refuse): null {
  s.log("credit reservation failed", { err });
  refuse(unavailable("backend_unavailable", "Credit could not be reserved right now; try again shortly"));
  return null;
}
