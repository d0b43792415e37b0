import { timingSafeEqual } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import client from "prom-client";
import { whPer1M } from "../catalog/energy";
import { usdDecimal } from "../ledger/money";
import { isUuid, uuidv7 } from "../lib/ids";
import { processLogger, unredacted, type LogLine } from "../lib/logger";
import { outboundAgent } from "../lib/outbound";
import type { ActiveKey, RoutingListing } from "./backend";
import { authenticate } from "./auth";
import { listenForBroadcasts } from "./broadcasts";
import { CatalogCache } from "./catalog-cache";
import { dialectFor } from "./dialects";
import { countMessageTokens } from "./dialects/messages/count-tokens";
import { answerClientError, apiKey, bearer, preflight, sendError, sendInternalError, sendJson } from "./http";
import { KeyCache, type CachedKey } from "./key-cache";
import { createMetrics } from "./metrics";
import { apiError, unavailable } from "./openai-errors";
import { GatewayProxy } from "./proxy";
import { RateLimiter } from "./rate-limit";
import { UsageReporter } from "./reporter";
import { sharedRateLimiter } from "./shared-rate-limit";
import { CreditControl, defaultCreditOptions } from "./reservations";
import { priceAt } from "./routing";
import { Spool } from "./spool";
import type { GatewayConfig, GatewayState } from "./state";

/**
 * The OpenAI-compatible proxy as an HTTP server (plain node:http): routes,
 * authentication, the small read endpoints, and the lifecycle of the parts
 * that keep backend calls off the hot path (key cache, catalog cache, credit
 * reservations, usage reporter with its spool).
 */

export type Gateway = { url: string; port: number; server: http.Server; close: () => Promise<void> };

/** A percent-encoded path segment decoded, or undefined when its encoding is malformed (`%E0%A4%A`). */
function decodePathPart(part: string): string | undefined {
  try {
    return decodeURIComponent(part);
  } catch {
    return undefined;
  }
}

/** Per-token dollars as an exact decimal string from nano-USD per 1k tokens (OpenRouter quotes prices per token). */
export function perTokenUsd(per1kNano: bigint): string {
  // nano-USD per 1k tokens = 1e-12 USD per token: shift usdDecimal's nano scale by three more places.
  const text = usdDecimal(per1kNano).split(".");
  const whole = text[0]!.padStart(4, "0");
  const frac = (whole.slice(-3) + (text[1] ?? "")).replace(/0+$/, "");
  const head = whole.slice(0, -3).replace(/^0+(?=\d)/, "");
  return frac ? `${head}.${frac}` : head;
}

/** A listing in OpenAI's model format, with our prices (per token, like OpenRouter, and exact per 1k) and energy. */
function modelObject(l: RoutingListing, now: number) {
  const p = priceAt(l, now);
  return {
    id: l.slug,
    object: "model",
    // The routing table carries no listing creation time; this is when its current price took effect.
    created: Math.floor(p.effectiveFrom.getTime() / 1000),
    owned_by: l.orgSlug,
    family: l.family,
    context_length: l.contextLength,
    modalities: l.modalities,
    pricing: { prompt: perTokenUsd(p.inputPer1kNano), completion: perTokenUsd(p.outputPer1kNano), input_cache_read: perTokenUsd(p.cachedInputPer1kNano) },
    pricing_per_1k_nano: { input: p.inputPer1kNano.toString(), output: p.outputPer1kNano.toString(), cached_input: p.cachedInputPer1kNano.toString() },
    energy: { tokens_per_watt: l.tokensPerWatt, wh_per_1m_tokens: l.tokensPerWatt ? whPer1M(l.tokensPerWatt) : null },
  };
}

async function listModels(state: GatewayState, res: http.ServerResponse, id: string | null) {
  const listings = await state.catalog.get();
  const now = Date.now();
  if (id === null) return sendJson(res, 200, JSON.stringify({ object: "list", data: listings.map((l) => modelObject(l, now)) }));
  const l = listings.find((x) => x.slug === id.toLowerCase());
  if (!l) return sendError(res, apiError("NOT_FOUND", "model_not_found", `The model \`${id}\` does not exist or is not published`, { param: "model" }));
  sendJson(res, 200, JSON.stringify(modelObject(l, now)));
}

function keyInfo(state: GatewayState, key: ActiveKey, cached: CachedKey, secret: string) {
  const usageNano = key.currentPeriodSpendNano + cached.localSpendNano;
  const limit = key.spendLimitNano;
  return {
    data: {
      // Like OpenRouter's: the key itself masked, never its name from the console (the backend does not send it).
      label: `${secret.slice(0, Math.min(10, secret.length - 4))}…${secret.slice(-4)}`,
      limit: limit === null ? null : usdDecimal(limit),
      limit_remaining: limit === null ? null : usdDecimal(limit > usageNano ? limit - usageNano : 0n),
      limit_period: key.limitPeriod,
      period_start: key.periodStart,
      period_end: key.periodEnd,
      usage: usdDecimal(usageNano),
      reserved_available: (() => {
        const a = state.credit.availableNano(key.keyId);
        return a === null ? null : usdDecimal(a);
      })(),
      rate_limit: { requests_per_minute: key.rpmLimit, tokens_per_minute: key.tpmLimit },
      model_allowlist: key.modelAllowlist,
      expires_at: key.validUntil,
    },
  };
}

async function generation(state: GatewayState, key: ActiveKey, url: URL, res: http.ServerResponse) {
  const id = url.searchParams.get("id");
  if (!id || !isUuid(id)) {
    return sendError(res, apiError("INVALID_INPUT", "invalid_id", "id: pass the generation id (the x-request-id of a response)", { param: "id" }));
  }
  let g: Awaited<ReturnType<typeof state.config.backend.generation>>;
  try {
    g = await state.config.backend.generation({ id, keyId: key.keyId });
  } catch (err) {
    state.log("generation lookup failed", { err });
    return sendError(res, unavailable("backend_unavailable", "The generation could not be looked up right now; try again shortly"));
  }
  if (!g)
    return sendError(res, apiError("NOT_FOUND", "generation_not_found", `Generation ${id} is not billed yet or does not belong to this key's organisation`));
  sendJson(
    res,
    200,
    JSON.stringify({
      data: {
        id: g.id,
        model: g.listingSlug,
        provider_name: g.providerOrg,
        tokens_prompt: g.inputTokens + g.cachedInputTokens,
        tokens_completion: g.outputTokens,
        native_tokens_cached: g.cachedInputTokens,
        total_cost: usdDecimal(g.costNano),
        created_at: g.startedAt.toISOString(),
        latency: g.firstTokenAt ? g.firstTokenAt.getTime() - g.startedAt.getTime() : null,
        generation_time: g.endedAt.getTime() - g.startedAt.getTime(),
        status: g.status,
        estimated: g.estimated,
        finish_reason: g.finishReason,
        energy_joules: g.energyJoules,
        settlement: g.settlement,
      },
    }),
  );
}

/**
 * Who may read /metrics (request counts, token volumes and credit flows are business data):
 * with a token configured, whoever presents it; without one, only clients on this host.
 */
export function metricsRefusal(req: http.IncomingMessage, token: string | undefined) {
  if (token) {
    const given = Buffer.from(bearer(req) ?? "");
    const want = Buffer.from(token);
    if (given.length === want.length && timingSafeEqual(given, want)) return null;
    return { status: 401, code: "invalid_metrics_token", message: "GET /metrics needs the GATEWAY_METRICS_TOKEN as a bearer token" };
  }
  const from = req.socket.remoteAddress ?? "";
  if (from === "127.0.0.1" || from === "::1" || from === "::ffff:127.0.0.1") return null;
  return {
    status: 403,
    code: "metrics_local_only",
    message: "GET /metrics is served to this host only; set GATEWAY_METRICS_TOKEN to scrape it from elsewhere",
  };
}

/** Size caps on an upstream's answer: a JSON body, one SSE event (the most a stream holds back at once). */
export const upstreamCaps = { maxUpstreamBodyBytes: 32 * 1024 * 1024, maxSseEventBytes: 1024 * 1024 };

/**
 * How long reservations live and when one is too close to its end to spend from:
 * a request is cut at `maxRequestMs`, so a hold taken from a reservation with more
 * than that (plus 30 s to report) left never outlives it, and its credit cannot be
 * granted again by the reservation's expiry while the request still spends it.
 */
export function holdLife(maxRequestMs: number) {
  const expiryMarginMs = maxRequestMs + 30_000;
  return { expiryMarginMs, ttlSeconds: Math.max(defaultCreditOptions.ttlSeconds, Math.ceil((2 * expiryMarginMs) / 1000)) };
}

export async function startGateway(given: GatewayConfig, listen: { port: number; host?: string }): Promise<Gateway> {
  const config = { maxRequestMs: 150_000, upstreamIdleMs: 60_000, ...upstreamCaps, ...given };
  const logger = config.logger ?? processLogger();
  const log: LogLine = config.log ?? ((msg, fields) => logger.warn(fields ?? {}, msg));
  const { spool, replay } = Spool.open({ dir: config.spoolDir, maxBytes: config.spoolMaxBytes, log });
  const reporter = new UsageReporter(config.usageSink ?? config.backend, { spool, flushMs: config.reportFlushMs, log });
  if (replay.length) {
    log("replaying usage events left in the spool by the previous run", { events: replay.length });
    reporter.enqueue(replay);
  }
  const metrics = createMetrics();
  const shared = config.redisUrl ? sharedRateLimiter(config.redisUrl, { log }) : null;
  shared?.register(metrics.registry);
  // Counting in Redis from the first request on; a Redis that is not up yet leaves the limits per proxy meanwhile.
  await shared?.ready(2_000);
  const state: GatewayState = {
    config,
    keys: new KeyCache(config.backend, { pollMs: config.keyPollMs, log }),
    catalog: new CatalogCache(config.backend, { refreshMs: config.catalogRefreshMs, log }),
    credit: new CreditControl(config.backend, {
      ...defaultCreditOptions,
      ...holdLife(config.maxRequestMs),
      chunkNano: config.reservationChunkNano,
      perListing: config.providerToken === true,
      idleMs: config.creditIdleMs ?? defaultCreditOptions.idleMs,
      log,
    }),
    rates: shared ?? new RateLimiter(),
    reporter,
    spool,
    metrics,
    log,
    logger: unredacted(logger),
  };
  new client.Gauge({
    name: "gateway_usage_unreported",
    help: "Usage events not yet acknowledged by the backend",
    registers: [metrics.registry],
    collect() {
      this.set(reporter.pending);
    },
  });
  new client.Gauge({
    name: "gateway_spool_bytes",
    help: "Bytes of spool segments holding unacknowledged usage",
    registers: [metrics.registry],
    collect() {
      this.set(spool.bytes);
    },
  });
  new client.Gauge({
    name: "gateway_credit_granted_nano",
    help: "Credit granted to this proxy by reservations (nano-USD)",
    registers: [metrics.registry],
    collect() {
      this.set(Number(state.credit.grantedNano));
    },
  });
  new client.Gauge({
    name: "gateway_credit_released_nano",
    help: "Unused credit returned to the backend (nano-USD)",
    registers: [metrics.registry],
    collect() {
      this.set(Number(state.credit.releasedNano));
    },
  });

  state.keys.start();
  state.catalog.start();
  if (config.nats) listenForBroadcasts(state, config.nats);
  // Listen at once and load the catalog now, so the first request does not wait for it (the web app may still be
  // starting); a request that comes first awaits this load. The catalog's load also loads the vocabularies of the
  // tokenizers its listings declare (catalog-cache.ts: about a second each, blocking, once per process), before any
  // request is counted, so counts are exact from the first one. Only those: each vocabulary held is tens of MB on
  // the heap, and with all five loaded the garbage collector's work put the proxy's CPU per request up by half.
  Promise.resolve(state.catalog.get()).catch((err: Error) => log("catalog not loaded yet; retrying on demand", { err }));
  const agent = outboundAgent(config.outbound, {
    connections: 256,
    keepAliveTimeout: 30_000,
    headersTimeout: config.upstreamIdleMs,
    bodyTimeout: config.upstreamIdleMs,
  });
  const proxy = new GatewayProxy(state, agent);
  const idleTimer = setInterval(() => void state.credit.releaseIdle(), 5_000);
  idleTimer.unref();

  /** Every route but the proxied ones (which contain their own failures in GatewayProxy.handle). */
  const route = (req: http.IncomingMessage, res: http.ServerResponse, requestId: string): void | Promise<void> => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const method = req.method ?? "GET";
    if (method === "POST") {
      if (path === "/v1/chat/completions") return proxy.handle(req, res, "chat", requestId);
      if (path === "/v1/completions") return proxy.handle(req, res, "completion", requestId);
      if (path === "/v1/embeddings") return proxy.handle(req, res, "embeddings", requestId);
      const dialect = dialectFor(path);
      if (dialect) return proxy.handle(req, res, "chat", requestId, dialect);
      if (path === "/v1/messages/count_tokens") return countMessageTokens(state, req, res, requestId);
    }
    // Proxied requests carry the id in the headers they answer with (writeHead's fast path, no setHeader).
    res.setHeader("x-request-id", requestId);
    if (method === "OPTIONS") return preflight(req, res);
    if (method === "GET") {
      if (path === "/healthz") return sendJson(res, 200, JSON.stringify({ ok: true, unreported: reporter.pending }));
      if (path === "/metrics") {
        const refused = metricsRefusal(req, config.metricsToken);
        if (refused)
          return sendJson(res, refused.status, JSON.stringify({ error: { message: refused.message, type: "invalid_request_error", code: refused.code } }));
        return metrics.registry.metrics().then((text) => {
          res.writeHead(200, { "content-type": metrics.registry.contentType });
          res.end(text);
        });
      }
      if (path === "/v1/models" || path.startsWith("/v1/models/")) {
        const id = path === "/v1/models" ? null : decodePathPart(path.slice("/v1/models/".length));
        if (id === undefined)
          return sendError(res, apiError("INVALID_INPUT", "invalid_url", "The model id in the URL is not valid percent-encoding", { param: "model" }));
        return listModels(state, res, id).catch((err: Error) => {
          log("model list failed", { err });
          sendError(res, unavailable("backend_unavailable", "The model list is not available right now"));
        });
      }
      if (path === "/v1/key" || path === "/v1/generation") {
        return (async () => {
          const auth = await authenticate(state, req);
          if (!("key" in auth)) return sendError(res, auth);
          const { key, cached } = auth;
          if (path === "/v1/key") return sendJson(res, 200, JSON.stringify(keyInfo(state, key, cached, apiKey(req)!)));
          return generation(state, key, new URL(url, "http://gateway"), res);
        })();
      }
    }
    sendError(res, apiError("NOT_FOUND", "unknown_url", `Unknown request URL: ${method} ${path.slice(0, 200)}`));
  };
  const server = http.createServer((req, res) => {
    // A request id for the answer and the log, should anything below throw (sync or async).
    const requestId = uuidv7();
    try {
      const done = route(req, res, requestId);
      if (done) done.catch((err: unknown) => sendInternalError(res, log, err, requestId));
    } catch (err) {
      sendInternalError(res, log, err, requestId);
    }
  });
  server.on("clientError", answerClientError);
  server.keepAliveTimeout = 65_000;

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(listen.port, listen.host ?? "127.0.0.1", () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${listen.host && listen.host !== "0.0.0.0" ? listen.host : "127.0.0.1"}:${port}`,
    port,
    server,
    /** Stops taking requests, lets the running ones finish, reports their usage and returns unused credit. */
    close: () =>
      (closing ??= (async () => {
        clearInterval(idleTimer);
        state.keys.stop();
        state.catalog.stop();
        await new Promise<void>((r) => {
          // Keep-alive connections close as soon as their request is done; stragglers are cut after 15 s.
          const sweep = setInterval(() => server.closeIdleConnections(), 100);
          const force = setTimeout(() => server.closeAllConnections(), 15_000);
          server.close(() => {
            clearInterval(sweep);
            clearTimeout(force);
            r();
          });
          server.closeIdleConnections();
        });
        const left = await reporter.flush(Date.now() + 10_000);
        if (left) log("usage events stay in the spool for the next start", { events: left });
        await state.credit.releaseIdle(true);
        spool.close();
        await agent.close();
        await shared?.close();
      })()),
  };
}
