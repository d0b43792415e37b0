import type http from "node:http";
import type { Agent, Dispatcher } from "undici";
import { OutboundRefused, readCapped } from "../lib/outbound";
import { admitLimits, holdCredit, routeRequest } from "./admission";
import { authenticate } from "./auth";
import type { RoutingListing } from "./backend";
import type { Dialect, DialectRequest } from "./dialects/types";
import { readBody, sendError, sendInternalError } from "./http";
import { isObject, scrubbedUpstreamMessage } from "./inputs";
import { apiError, unavailable, type ApiError } from "./openai-errors";
import { Breach, type Request } from "./relay";
import { relayJson } from "./relay-json";
import { relayStream } from "./relay-stream";
import { countPromptTokens, parseDialectRequest, parseRequest, refuseUnreadBody } from "./request";
import type { Endpoint } from "./routing";
import type { GatewayState } from "./state";

/**
 * The hot path: POST /v1/chat/completions, /v1/completions, /v1/embeddings,
 * in stages: authenticate (auth.ts, cached key), validate (request.ts), admit
 * (admission.ts: route, limits, worst-case credit held locally), forward to the
 * first provider that answers (here: one undici Agent under the outbound policy,
 * Node streams, no fetch), relay the answer (relay-json.ts, relay-stream.ts),
 * then bill (billing.ts): journal the usage event before the response ends and
 * give the unused part of the hold back.
 */

const PATHS: Record<Endpoint, string> = { chat: "/chat/completions", completion: "/completions", embeddings: "/embeddings" };
/** Of a failed upstream answer, only this much is read (for its error message). */
const ERROR_BODY_BYTES = 64 * 1024;

export class GatewayProxy {
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

  /** `dialect`: the client speaks another API, translated to and from `endpoint` (dialects/). */
  handle(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint, requestId: string, dialect?: Dialect) {
    this.run(req, res, endpoint, requestId, dialect).catch((err: unknown) => sendInternalError(res, this.s.log, err, requestId, dialect));
  }

  // prom-client children bound to their labels once: looking labels up per request is measurable here.
  private readonly counters = new Map<string, { inc: () => void; observe: (seconds: number) => void }>();

  /** `label`: the endpoint, or the client dialect's own label (Dialect.label). */
  private readonly count = (label: string, status: number, started: number, stream: boolean) => {
    const k = `${label} ${status} ${stream}`;
    let c = this.counters.get(k);
    if (!c) {
      const requests = this.s.metrics.requests.labels(label, String(status));
      const duration = this.s.metrics.duration.labels(label, stream ? "true" : "false");
      c = { inc: () => requests.inc(), observe: (seconds) => duration.observe(seconds) };
      this.counters.set(k, c);
    }
    c.inc();
    c.observe((Date.now() - started) / 1000);
  };

  /** What answers a request refused before relaying: counted, then the error envelope. */
  private failer(res: http.ServerResponse, label: string, started: number, headers: Record<string, string>, dialect: Dialect | undefined) {
    // Returned unnamed: under tsx (esbuild keepNames) a named closure costs a defineProperty per request.
    return (e: ApiError) => {
      this.count(label, e.status, started, false);
      this.s.logger.info({ requestId: headers["x-request-id"], endpoint: label, status: e.status, code: e.code }, "request refused");
      sendError(res, e, headers, dialect);
    };
  }

  private async run(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint, requestId: string, dialect: Dialect | undefined) {
    const started = Date.now();
    const headers: Record<string, string> = { "x-request-id": requestId };
    if (dialect?.requestIdHeader) headers[dialect.requestIdHeader] = requestId;
    const label = dialect ? dialect.label : endpoint;
    const fail = this.failer(res, label, started, headers, dialect);

    if (this.s.spool.full) return fail(unavailable("usage_spool_full", "The proxy cannot record usage right now (its spool is full); try again shortly"));
    // Every stage answers synchronously from the caches; a promise only when it must ask the backend.
    const authed = authenticate(this.s, req);
    const auth = authed instanceof Promise ? await authed : authed;
    if (!("key" in auth)) return fail(auth);
    const { key, cached } = auth;

    let raw: Buffer;
    try {
      raw = await readBody(req, this.s.config.maxBodyBytes ?? 16 * 1024 * 1024);
    } catch (err) {
      return refuseUnreadBody(err, headers, fail);
    }
    let translated: DialectRequest | null = null;
    let body: Record<string, unknown> | null;
    if (dialect) {
      const t = parseDialectRequest(dialect, raw, req.headers, fail);
      body = t?.chat ?? null;
      translated = t?.dialect ?? null;
    } else body = parseRequest(endpoint, raw, fail);
    if (!body) return;
    const routed = routeRequest(this.s, key, body, endpoint, started, fail);
    const candidates = routed instanceof Promise ? await routed : routed;
    if (!candidates) return;
    const promptCount = countPromptTokens(endpoint, body, candidates, fail);
    if (promptCount === null) return;
    const promptTokens = promptCount.tokens;
    const limited = admitLimits(this.s, key, cached, promptTokens, started, headers, fail);
    if (!(limited instanceof Promise ? await limited : limited)) return;
    const holding = holdCredit(this.s, key, body, endpoint, candidates, promptTokens, started, fail);
    const held = holding instanceof Promise ? await holding : holding;
    if (!held) return;
    const { hold, maxTokens, choices, contextLength } = held;

    const stream = endpoint !== "embeddings" && body.stream === true;
    const clientOptions = isObject(body.stream_options) ? body.stream_options : null;
    const r: Request = {
      requestId,
      endpoint,
      label,
      key,
      started,
      promptTokens,
      promptCount,
      stream,
      wantsUsage: clientOptions?.include_usage === true,
      hold,
      headers,
      // An embeddings request may carry many inputs, each up to the context length.
      bounds: {
        promptTokens,
        outputTokens: maxTokens * choices,
        contextLength: endpoint === "embeddings" && Array.isArray(body.input) ? contextLength * Math.max(1, body.input.length) : contextLength,
      },
      dialect: translated,
    };
    if (res.destroyed) return this.s.credit.settle(hold, 0n);
    return this.forward(r, res, upstreamPayload(body, endpoint, maxTokens, stream, clientOptions), candidates, fail);
  }

  /**
   * Sends the request to the first provider that answers and relays that answer.
   * A client that leaves stops the upstream: its body is destroyed (which closes that
   * upstream connection), or, if it has not answered yet, as soon as it does.
   */
  private async forward(r: Request, res: http.ServerResponse, up: Record<string, unknown>, candidates: RoutingListing[], fail: (e: ApiError) => void) {
    const { hold, endpoint } = r;
    let clientGone = false;
    let upstreamBody: Dispatcher.ResponseData["body"] | null = null;
    // The total time cap: whatever is still running then is cut (relay-json.ts and relay-stream.ts bill what was delivered).
    const deadline = r.started + this.s.config.maxRequestMs;
    const timer = setTimeout(
      () => upstreamBody?.destroy(new Breach("The provider took longer than this proxy allows for one request")),
      this.s.config.maxRequestMs,
    );
    res.once("close", () => {
      clearTimeout(timer);
      if (res.writableFinished) return;
      clientGone = true;
      upstreamBody?.destroy(new Error("client disconnected"));
    });
    let lastFailure = "";
    for (const listing of candidates) {
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
        if (err instanceof OutboundRefused) this.s.log("upstream refused by the outbound policy", { requestId: r.requestId, listing: listing.slug, err });
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
          return fail({
            ...apiError("INVALID_INPUT", "upstream_rejected", `The provider refused the request (HTTP ${status})${message ? `: ${message}` : ""}`),
            status,
          });
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
        count: this.count,
      };
      if (r.stream) return relayStream(relay);
      return relayJson(relay);
    }
    this.s.credit.settle(hold, 0n);
    fail(
      apiError("UPSTREAM_FAILED", "upstream_error", `No provider could serve the request (${candidates.length} tried); last: ${lastFailure || "out of time"}`),
    );
  }
}

/** The body sent upstream: the client's, less our `provider` field, capped at the held max_tokens, asking a stream for its usage. */
function upstreamPayload(body: Record<string, unknown>, endpoint: Endpoint, maxTokens: number, stream: boolean, clientOptions: Record<string, unknown> | null) {
  const up: Record<string, unknown> = { ...body };
  delete up.provider;
  if (endpoint !== "embeddings") {
    // The upstream must stop where the hold ends: the held max_tokens goes upstream always.
    if (endpoint === "chat" && body.max_completion_tokens !== undefined && body.max_completion_tokens !== null) up.max_completion_tokens = maxTokens;
    else up.max_tokens = maxTokens;
  }
  if (stream) up.stream_options = { ...clientOptions, include_usage: true };
  return up;
}
