import type http from "node:http";
import type { Agent, Dispatcher } from "undici";
import { usdDecimal } from "../ledger/money";
import { OutboundRefused, readCapped } from "../lib/outbound";
import type { UsageEvent } from "../usage/contract";
import { authenticate } from "./auth";
import type { RoutingListing } from "./backend";
import { affordableOutputTokens, billableUsage, defaultMaxTokens, worstCaseNano } from "./estimate";
import { BodyTooLarge, readBody, sendError, sendInternalError } from "./http";
import { choicesOf, isObject, scrubbedUpstreamMessage, validate, worstPrices } from "./inputs";
import { apiError, unavailable, type ApiError } from "./openai-errors";
import { isHold } from "./reservations";
import { Breach, relayJson, relayStream, type Bill, type Outcome, type Request } from "./relay";
import { chooseProviders, parseProviderPreferences, priceAt, type Endpoint } from "./routing";
import type { GatewayState } from "./server";
import { chatPromptTokens, textInputTokens } from "./tokens";

/**
 * The hot path: POST /v1/chat/completions, /v1/completions, /v1/embeddings.
 * Authenticate (cached key), route, hold worst-case credit locally, forward
 * to the first provider that answers (one undici Agent under the outbound
 * policy, Node streams, no fetch), relay the answer (relay.ts), then journal
 * the usage event before the response ends and give the unused part of the hold back.
 */

const PATHS: Record<Endpoint, string> = { chat: "/chat/completions", completion: "/completions", embeddings: "/embeddings" };
/** Of a failed upstream answer, only this much is read (for its error message). */
const ERROR_BODY_BYTES = 64 * 1024;

export class Proxy {
  /** Each base URL parsed once: origin for the agent, path prefix for the endpoint. */
  private readonly targets = new Map<string, { origin: string; basePath: string }>();

  constructor(
    private readonly s: GatewayState,
    private readonly agent: Agent,
  ) {}

  private target(baseUrl: string) {
    let t = this.targets.get(baseUrl);
    if (!t) {
      const u = new URL(baseUrl);
      t = { origin: u.origin, basePath: u.pathname.replace(/\/+$/, "") };
      this.targets.set(baseUrl, t);
    }
    return t;
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint, requestId: string) {
    this.run(req, res, endpoint, requestId).catch((err: unknown) => sendInternalError(res, this.s.log, err, requestId));
  }

  // prom-client children bound to their labels once: looking labels up per request is measurable here.
  private readonly counters = new Map<string, { inc: () => void; observe: (seconds: number) => void }>();

  private readonly count = (endpoint: Endpoint, status: number, started: number, stream: boolean) => {
    const k = `${endpoint} ${status} ${stream}`;
    let c = this.counters.get(k);
    if (!c) {
      const requests = this.s.metrics.requests.labels(endpoint, String(status));
      const duration = this.s.metrics.duration.labels(endpoint, stream ? "true" : "false");
      c = { inc: () => requests.inc(), observe: (seconds) => duration.observe(seconds) };
      this.counters.set(k, c);
    }
    c.inc();
    c.observe((Date.now() - started) / 1000);
  };

  /** What answers a request refused before relaying: counted, then the error envelope. */
  private failer(res: http.ServerResponse, endpoint: Endpoint, started: number, headers: Record<string, string>) {
    // Returned unnamed: under tsx (esbuild keepNames) a named closure costs a defineProperty per request.
    return (e: ApiError) => {
      this.count(endpoint, e.status, started, false);
      sendError(res, e, headers);
    };
  }

  private async run(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint, requestId: string) {
    const started = Date.now();
    const headers: Record<string, string> = { "x-request-id": requestId };
    const fail = this.failer(res, endpoint, started, headers);

    if (this.s.spool.full) return fail(unavailable("usage_spool_full", "The proxy cannot record usage right now (its spool is full); try again shortly"));
    // Key, catalog and credit answer synchronously from their caches; a promise only when they must ask the backend.
    const authed = authenticate(this.s, req);
    const auth = authed instanceof Promise ? await authed : authed;
    if (!("key" in auth)) return fail(auth);
    const { key, cached } = auth;

    let raw: Buffer;
    try {
      raw = await readBody(req, this.s.config.maxBodyBytes ?? 16 * 1024 * 1024);
    } catch (err) {
      if (err instanceof BodyTooLarge) {
        headers.connection = "close";
        return fail({ ...apiError("INVALID_INPUT", "request_too_large", "The request body is too large"), status: 413 });
      }
      return;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw.toString("utf8"));
    } catch {
      return fail(apiError("INVALID_INPUT", "invalid_json", "We could not parse the JSON body of your request"));
    }
    if (!isObject(parsed)) return fail(apiError("INVALID_INPUT", "invalid_json", "The request body must be a JSON object"));
    const body = parsed;
    const invalid = validate(endpoint, body);
    if (invalid) return fail(invalid);
    const model = body.model as string;
    const prefs = parseProviderPreferences(body.provider);
    if (typeof prefs === "string") return fail(apiError("INVALID_INPUT", "invalid_value", prefs, { param: "provider" }));

    let listings: RoutingListing[];
    try {
      const found = this.s.catalog.candidates(model);
      listings = found instanceof Promise ? await found : found;
    } catch (err) {
      this.s.log(`catalog unavailable: ${(err as Error).message}`);
      return fail(unavailable("backend_unavailable", "The model catalog is not available right now; try again shortly"));
    }
    const route = chooseProviders({ listings, model, endpoint, preferences: prefs, allowlist: key.modelAllowlist, throughput: this.s.catalog.throughput, now: started });
    if (!route.ok) {
      if (route.code === "unknown_model") return fail(apiError("NOT_FOUND", "model_not_found", route.message, { param: "model" }));
      if (route.code === "model_not_allowed") return fail(apiError("FORBIDDEN", "model_not_allowed", route.message, { param: "model" }));
      if (route.code === "wrong_endpoint") return fail(apiError("INVALID_INPUT", "model_not_supported", route.message, { param: "model" }));
      return fail(unavailable("no_provider_available", route.message));
    }

    let promptTokens: number;
    try {
      promptTokens = endpoint === "chat" ? chatPromptTokens(body) : textInputTokens(endpoint === "completion" ? body.prompt : body.input);
    } catch {
      return fail(apiError("INVALID_INPUT", "invalid_value", "The request body is nested too deeply to read"));
    }
    const rate = this.s.rates.admit(key.keyId, { rpm: key.rpmLimit, tpm: key.tpmLimit }, promptTokens, started);
    Object.assign(headers, rate.headers);
    if (!rate.ok) {
      headers["retry-after"] = String(rate.retryAfterSeconds);
      return fail(
        apiError("RATE_LIMITED", "rate_limit_exceeded", `Rate limit reached for ${rate.which} per minute on this key; try again in ${rate.retryAfterSeconds} s`),
      );
    }
    if (key.spendLimitNano !== null && key.currentPeriodSpendNano + cached.localSpendNano >= key.spendLimitNano) {
      return fail(apiError("LIMIT_EXCEEDED", "key_limit_reached", `This API key's ${key.limitPeriod ?? ""} spend limit of $${usdDecimal(key.spendLimitNano)} is reached`));
    }

    // Credit: hold the worst case (prompt + max_tokens for each of the n choices, at the dearest candidate's prices).
    const prices = worstPrices(route.candidates, started);
    const choices = endpoint === "embeddings" ? 1 : choicesOf(body);
    const requested = endpoint === "embeddings" ? null : ((body.max_completion_tokens ?? body.max_tokens ?? null) as number | null);
    let contextLength = Infinity;
    for (const l of route.candidates) if (l.contextLength < contextLength) contextLength = l.contextLength;
    let maxTokens = endpoint === "embeddings" ? 0 : (requested ?? defaultMaxTokens(contextLength, promptTokens, this.s.config.defaultMaxTokens));
    const estimate = worstCaseNano(promptTokens, maxTokens * choices, prices);
    // Without an explicit max_tokens the proxy picks one, so it may pick what the credit affords (as OpenRouter does).
    const flexible = endpoint !== "embeddings" && requested === null;
    let got;
    try {
      const held = this.s.credit.acquire(key.keyId, estimate, flexible ? worstCaseNano(promptTokens, choices, prices) : undefined, route.candidates[0]!.listingId);
      got = held instanceof Promise ? await held : held;
    } catch (err) {
      this.s.log(`credit reservation failed: ${(err as Error).message}`);
      return fail(unavailable("backend_unavailable", "Credit could not be reserved right now; try again shortly"));
    }
    if (!isHold(got)) {
      if (got.limitedBy === "unavailable") return fail(unavailable("backend_unavailable", "Credit could not be reserved right now; try again shortly"));
      if (got.limitedBy === "key_limit") return fail(apiError("LIMIT_EXCEEDED", "key_limit_reached", "This API key's spend limit for the period is reached"));
      if (got.limitedBy === "blocked") return fail(apiError("INSUFFICIENT_CREDIT", "account_blocked", "This organisation cannot spend credit right now"));
      const affordable = Math.floor((affordableOutputTokens(got.availableNano, promptTokens, prices) ?? 0) / choices);
      return fail(
        apiError(
          "INSUFFICIENT_CREDIT",
          "insufficient_credit",
          requested !== null && affordable > 0
            ? `This request requires more credits, or fewer max_tokens. You requested up to ${requested} tokens, but can only afford ${affordable}.`
            : "Insufficient credit for this request: top up the organisation's credits",
        ),
      );
    }
    const hold = got;
    if (flexible && hold.amountNano < estimate) {
      maxTokens = Math.max(1, Math.min(maxTokens, Math.floor((affordableOutputTokens(hold.amountNano, promptTokens, prices) ?? maxTokens * choices) / choices)));
    }

    const stream = endpoint !== "embeddings" && body.stream === true;
    const clientOptions = isObject(body.stream_options) ? body.stream_options : null;
    const up: Record<string, unknown> = { ...body };
    delete up.provider;
    if (endpoint !== "embeddings") {
      // The upstream must stop where the hold ends: the held max_tokens goes upstream always.
      if (endpoint === "chat" && body.max_completion_tokens !== undefined && body.max_completion_tokens !== null) up.max_completion_tokens = maxTokens;
      else up.max_tokens = maxTokens;
    }
    if (stream) up.stream_options = { ...clientOptions, include_usage: true };
    const r: Request = {
      requestId,
      endpoint,
      key,
      started,
      promptTokens,
      stream,
      wantsUsage: clientOptions?.include_usage === true,
      hold,
      headers,
      // An embeddings request may carry many inputs, each up to the context length.
      bounds: { promptTokens, outputTokens: maxTokens * choices, contextLength: endpoint === "embeddings" && Array.isArray(body.input) ? contextLength * Math.max(1, body.input.length) : contextLength },
    };

    // A client that leaves stops the upstream: its body is destroyed (which closes that
    // upstream connection), or, if it has not answered yet, as soon as it does.
    let clientGone = false;
    let upstreamBody: Dispatcher.ResponseData["body"] | null = null;
    if (res.destroyed) return this.s.credit.settle(hold, 0n);
    // The total time cap: whatever is still running then is cut (relay.ts bills what was delivered).
    const deadline = started + this.s.config.maxRequestMs;
    const timer = setTimeout(() => upstreamBody?.destroy(new Breach("The provider took longer than this proxy allows for one request")), this.s.config.maxRequestMs);
    res.once("close", () => {
      clearTimeout(timer);
      if (res.writableFinished) return;
      clientGone = true;
      upstreamBody?.destroy(new Error("client disconnected"));
    });
    let lastFailure = "";
    for (const listing of route.candidates) {
      if (Date.now() >= deadline) break;
      up.model = listing.upstreamModel;
      const t = this.target(listing.upstreamBaseUrl);
      let upstream: Dispatcher.ResponseData;
      try {
        upstream = await this.agent.request({
          origin: t.origin,
          path: t.basePath + PATHS[endpoint],
          method: "POST",
          headers: listing.upstreamCredential
            ? { "content-type": "application/json", authorization: `Bearer ${listing.upstreamCredential}` }
            : { "content-type": "application/json" },
          body: JSON.stringify(up),
        });
      } catch (err) {
        if (clientGone) return this.s.credit.settle(hold, 0n);
        this.s.metrics.upstreamFailures.inc({ listing: listing.slug });
        lastFailure = `${listing.slug}: ${err instanceof OutboundRefused ? err.message : "could not connect or did not answer in time"}`;
        if (err instanceof OutboundRefused) this.s.log(`upstream of ${listing.slug} refused by the outbound policy: ${err.message}`);
        continue;
      }
      const status = upstream.statusCode;
      if (clientGone) {
        // Nothing of it reached anyone: nothing is billed.
        upstream.body.destroy();
        return this.s.credit.settle(hold, 0n);
      }
      if (status < 200 || status >= 300) {
        // Error bodies are read only this far: enough for an OpenAI-style message, never a whole page.
        const text = await readCapped(upstream.body, ERROR_BODY_BYTES);
        if (clientGone) return this.s.credit.settle(hold, 0n);
        const message = scrubbedUpstreamMessage(text, listing.upstreamCredential);
        if (status >= 400 && status < 500 && status !== 429) {
          // The request itself is wrong: the upstream's status and its message, scrubbed; nothing was generated.
          this.s.credit.settle(hold, 0n);
          return fail({ ...apiError("INVALID_INPUT", "upstream_rejected", `The provider refused the request (HTTP ${status})${message ? `: ${message}` : ""}`), status });
        }
        // 5xx, 429 and anything that is not an answer (a redirect is never followed): the next provider.
        this.s.metrics.upstreamFailures.inc({ listing: listing.slug });
        lastFailure = `${listing.slug} answered HTTP ${status}${message ? `: ${message}` : ""}`;
        continue;
      }
      upstreamBody = upstream.body;
      const relay = {
        s: this.s,
        r,
        listing,
        upstream,
        res,
        clientGone() {
          return clientGone;
        },
        finish: this.finish,
        count: this.count,
      };
      if (stream) return relayStream(relay);
      return relayJson(relay);
    }
    this.s.credit.settle(hold, 0n);
    fail(apiError("UPSTREAM_FAILED", "upstream_error", `No provider could serve the request (${route.candidates.length} tried); last: ${lastFailure || "out of time"}`));
  }

  /**
   * Bills a finished request: tokens from the upstream's usage when it sent
   * one, else counted (estimated); journals the event, returns the unused hold.
   */
  private readonly finish = (r: Request, listing: RoutingListing, o: Outcome, then?: (bill: Bill) => void): Bill => {
    const ended = Date.now();
    const estimated = o.usage === null;
    const reported = o.usage ?? { promptTokens: r.promptTokens, completionTokens: o.countedOutput, cachedTokens: 0 };
    const checked = billableUsage(reported, r.bounds, priceAt(listing, r.started), r.hold.amountNano);
    const { promptTokens, completionTokens: outputTokens, cachedTokens } = checked.billed;
    const costNano = checked.costNano;
    if (checked.anomaly) {
      this.s.metrics.usageAnomalies.inc({ listing: listing.slug });
      this.s.log(`usage anomaly on ${listing.slug}, request ${r.requestId}: ${checked.anomaly}; billed ${promptTokens}/${outputTokens}/${cachedTokens} (prompt/output/cached) instead of ${reported.promptTokens}/${reported.completionTokens}/${reported.cachedTokens}`);
    }
    const bill: Bill = { costNano, estimated, promptTokens, outputTokens, cachedTokens };
    const event: UsageEvent = {
      id: r.requestId,
      reservationId: r.hold.reservationId,
      keyId: r.key.keyId,
      listingId: listing.listingId,
      inputTokens: promptTokens - cachedTokens,
      outputTokens,
      cachedInputTokens: cachedTokens,
      startedAt: new Date(r.started),
      firstTokenAt: o.firstTokenAt === null ? null : new Date(o.firstTokenAt),
      endedAt: new Date(ended),
      status: o.status,
      estimated,
      upstreamStatus: o.upstreamStatus,
      ...(checked.anomaly && {
        anomaly: {
          reason: checked.anomaly.slice(0, 300),
          reportedInputTokens: reported.promptTokens - reported.cachedTokens,
          reportedOutputTokens: reported.completionTokens,
          reportedCachedInputTokens: reported.cachedTokens,
        },
      }),
    };
    this.s.reporter.record(event, then && (() => then(bill)));
    this.s.credit.settle(r.hold, costNano);
    this.s.keys.addSpend(r.key.keyId, costNano);
    this.s.rates.adjustTokens(r.key.keyId, promptTokens + outputTokens - r.promptTokens, ended);
    const e = estimated ? "true" : "false";
    const m = this.s.metrics.tokens;
    m.inc({ kind: "input", estimated: e }, promptTokens - cachedTokens);
    if (cachedTokens) m.inc({ kind: "cached_input", estimated: e }, cachedTokens);
    if (outputTokens) m.inc({ kind: "output", estimated: e }, outputTokens);
    if (o.firstTokenAt !== null && outputTokens > 1 && ended > o.firstTokenAt) {
      this.s.catalog.observeThroughput(listing.listingId, (outputTokens - 1) / ((ended - o.firstTokenAt) / 1000));
    }
    return bill;
  };
}
