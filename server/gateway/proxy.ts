import type http from "node:http";
import { Pool, type Dispatcher } from "undici";
import { usageCostNano, usdDecimal, type PricesPer1k } from "../ledger/money";
import { uuidv7 } from "../lib/ids";
import type { UsageEvent } from "../usage/contract";
import type { ActiveKey, RoutingListing } from "./backend";
import { affordableOutputTokens, defaultMaxTokens, worstCaseNano } from "./estimate";
import { BodyTooLarge, CORS_HEADERS, readBody, sendError, sendJson } from "./http";
import { apiError, sseErrorEvent, unavailable, type ApiError } from "./openai-errors";
import { isHold, type Hold } from "./reservations";
import { chooseProviders, parseProviderPreferences, priceAt, type Endpoint } from "./routing";
import { authenticate } from "./auth";
import type { GatewayState } from "./server";
import { readUsage, replaceModel, SseRelay, type UpstreamUsage } from "./sse";
import { chatPromptTokens, countTextTokens, textInputTokens } from "./tokens";

/**
 * The hot path: POST /v1/chat/completions, /v1/completions, /v1/embeddings.
 * Authenticate (cached key), route, hold worst-case credit locally, forward
 * to the first provider that answers (undici Pool, Node streams, no fetch),
 * relay the answer (SSE event by event, or the JSON body with `usage.cost`
 * added), then journal the usage event before the response ends and give the
 * unused part of the hold back.
 */

type Target = { pool: Pool; basePath: string };

type Request = {
  requestId: string;
  endpoint: Endpoint;
  key: ActiveKey;
  started: number;
  promptTokens: number;
  stream: boolean;
  wantsUsage: boolean;
  hold: Hold;
  headers: Record<string, string>;
};

type Bill = { costNano: bigint; estimated: boolean; promptTokens: number; outputTokens: number; cachedTokens: number };

type Outcome = {
  status: UsageEvent["status"];
  usage: UpstreamUsage | null;
  countedOutput: number;
  firstTokenAt: number | null;
  upstreamStatus: number | null;
};

const PATHS: Record<Endpoint, string> = { chat: "/chat/completions", completion: "/completions", embeddings: "/embeddings" };
const USAGE_OPEN = Buffer.from('"usage":{');
const DONE_EVENT = "data: [DONE]\n\n";

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The highest of each price across the candidates: a hold must cover whichever of them serves. */
function worstPrices(listings: RoutingListing[], now: number): PricesPer1k {
  const out = { inputPer1kNano: 0n, outputPer1kNano: 0n, cachedInputPer1kNano: 0n };
  for (const l of listings) {
    const p = priceAt(l, now);
    if (p.inputPer1kNano > out.inputPer1kNano) out.inputPer1kNano = p.inputPer1kNano;
    if (p.outputPer1kNano > out.outputPer1kNano) out.outputPer1kNano = p.outputPer1kNano;
    if (p.cachedInputPer1kNano > out.cachedInputPer1kNano) out.cachedInputPer1kNano = p.cachedInputPer1kNano;
  }
  return out;
}

function validate(endpoint: Endpoint, body: Record<string, unknown>): ApiError | null {
  const bad = (param: string, message: string) => apiError("INVALID_INPUT", "invalid_value", `${param}: ${message}`, { param });
  if (typeof body.model !== "string" || body.model.length === 0) return bad("model", "is required (a listing slug such as `provider/model`, or a model family)");
  if (endpoint === "chat" && (!Array.isArray(body.messages) || body.messages.length === 0)) return bad("messages", "must be a non-empty array");
  if (endpoint === "completion" && typeof body.prompt !== "string" && !Array.isArray(body.prompt)) return bad("prompt", "must be a string or an array");
  if (endpoint === "embeddings" && typeof body.input !== "string" && !Array.isArray(body.input)) return bad("input", "must be a string or an array");
  for (const field of ["max_tokens", "max_completion_tokens"]) {
    const v = body[field];
    if (v !== undefined && v !== null && !(typeof v === "number" && Number.isInteger(v) && v >= 1)) return bad(field, "must be a whole number of at least 1");
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") return bad("stream", "must be true or false");
  return null;
}

/** Parses the JSON object starting at `start` (a `{`) up to its matching brace; null if it is not one. */
function parseObjectAt(buf: Buffer, start: number): unknown {
  let depth = 0;
  let inString = false;
  for (let i = start; i < buf.length; i++) {
    const c = buf[i]!;
    if (inString) {
      if (c === 92) i++;
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123) depth++;
    else if (c === 125 && --depth === 0) {
      try {
        return JSON.parse(buf.toString("utf8", start, i + 1));
      } catch {
        return null;
      }
    }
  }
  return null;
}

/** Output text of a non-streamed answer, for counting when the upstream sent no usage. */
function answerText(endpoint: Endpoint, parsed: Record<string, unknown>): string {
  if (!Array.isArray(parsed.choices)) return "";
  let text = "";
  for (const c of parsed.choices as { message?: { content?: unknown }; text?: unknown }[]) {
    const t = endpoint === "chat" ? c?.message?.content : c?.text;
    if (typeof t === "string") text += t;
  }
  return text;
}

export class Proxy {
  private readonly targets = new Map<string, Target>();

  constructor(private readonly s: GatewayState) {}

  private target(baseUrl: string): Target {
    let t = this.targets.get(baseUrl);
    if (!t) {
      const u = new URL(baseUrl);
      t = {
        pool: new Pool(u.origin, { connections: 256, keepAliveTimeout: 30_000, headersTimeout: 300_000, bodyTimeout: 300_000 }),
        basePath: u.pathname.replace(/\/+$/, ""),
      };
      this.targets.set(baseUrl, t);
    }
    return t;
  }

  async close() {
    await Promise.all([...this.targets.values()].map((t) => t.pool.close()));
  }

  handle(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint) {
    this.run(req, res, endpoint).catch((err: Error) => {
      this.s.log(`request failed: ${err.stack ?? err.message}`);
      if (!res.headersSent) sendError(res, { status: 500, type: "api_error", code: "internal_error", message: "The proxy failed to handle this request" });
      else res.destroy();
    });
  }

  // prom-client children bound to their labels once: looking labels up per request is measurable here.
  private readonly counters = new Map<string, { inc: () => void; observe: (seconds: number) => void }>();

  private count(endpoint: Endpoint, status: number, started: number, stream: boolean) {
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
  }

  private async run(req: http.IncomingMessage, res: http.ServerResponse, endpoint: Endpoint) {
    const started = Date.now();
    const requestId = uuidv7();
    const headers: Record<string, string> = { "x-request-id": requestId };
    const fail = (e: ApiError) => {
      this.count(endpoint, e.status, started, false);
      sendError(res, e, headers);
    };

    if (this.s.spool.full) return fail(unavailable("usage_spool_full", "The proxy cannot record usage right now (its spool is full); try again shortly"));
    const auth = await authenticate(this.s, req);
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
      listings = await this.s.catalog.candidates(model);
    } catch (err) {
      this.s.log(`catalog unavailable: ${(err as Error).message}`);
      return fail(unavailable("backend_unavailable", "The model catalog is not available right now; try again shortly"));
    }
    const route = chooseProviders({ listings, model, endpoint, preferences: prefs, allowlist: key.modelAllowlist, throughput: this.s.catalog.throughput, now: started });
    if (!route.ok) {
      if (route.code === "unknown_model") return fail(apiError("NOT_FOUND", "model_not_found", route.message, { param: "model" }));
      if (route.code === "model_not_allowed") return fail(apiError("FORBIDDEN", "model_not_allowed", route.message, { param: "model" }));
      return fail(unavailable("no_provider_available", route.message));
    }

    const promptTokens = endpoint === "chat" ? chatPromptTokens(body.messages) : textInputTokens(endpoint === "completion" ? body.prompt : body.input);
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

    // Credit: hold the worst case (prompt + max_tokens at the dearest candidate's prices).
    const prices = worstPrices(route.candidates, started);
    const requested = endpoint === "embeddings" ? null : ((body.max_completion_tokens ?? body.max_tokens ?? null) as number | null);
    const contextLength = Math.min(...route.candidates.map((l) => l.contextLength));
    let maxTokens = endpoint === "embeddings" ? 0 : (requested ?? defaultMaxTokens(contextLength, promptTokens, this.s.config.defaultMaxTokens));
    const estimate = worstCaseNano(promptTokens, maxTokens, prices);
    // Without an explicit max_tokens the proxy picks one, so it may pick what the credit affords (as OpenRouter does).
    const flexible = endpoint !== "embeddings" && requested === null;
    let got;
    try {
      got = await this.s.credit.acquire(key.keyId, estimate, flexible ? worstCaseNano(promptTokens, 1, prices) : undefined, route.candidates[0]!.listingId);
    } catch (err) {
      this.s.log(`credit reservation failed: ${(err as Error).message}`);
      return fail(unavailable("backend_unavailable", "Credit could not be reserved right now; try again shortly"));
    }
    if (!isHold(got)) {
      if (got.limitedBy === "unavailable") return fail(unavailable("backend_unavailable", "Credit could not be reserved right now; try again shortly"));
      if (got.limitedBy === "key_limit") return fail(apiError("LIMIT_EXCEEDED", "key_limit_reached", "This API key's spend limit for the period is reached"));
      if (got.limitedBy === "blocked") return fail(apiError("INSUFFICIENT_CREDIT", "account_blocked", "This organisation cannot spend credit right now"));
      const affordable = affordableOutputTokens(got.availableNano, promptTokens, prices) ?? 0;
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
    if (flexible && hold.amountNano < estimate) maxTokens = Math.max(1, Math.min(maxTokens, affordableOutputTokens(hold.amountNano, promptTokens, prices) ?? maxTokens));

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
    };

    // A client that leaves stops the upstream: its body is destroyed (which closes that
    // upstream connection), or, if it has not answered yet, as soon as it does.
    let clientGone = false;
    let upstreamBody: Dispatcher.ResponseData["body"] | null = null;
    res.once("close", () => {
      if (res.writableFinished) return;
      clientGone = true;
      upstreamBody?.destroy(new Error("client disconnected"));
    });

    if (res.destroyed) return this.s.credit.settle(hold, 0n);
    let lastFailure = "";
    for (const listing of route.candidates) {
      up.model = listing.upstreamModel;
      const t = this.target(listing.upstreamBaseUrl);
      let upstream: Dispatcher.ResponseData;
      try {
        upstream = await t.pool.request({
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
        lastFailure = `${listing.slug}: ${(err as Error).message}`;
        continue;
      }
      const status = upstream.statusCode;
      if (clientGone) {
        // Nothing of it reached anyone: nothing is billed.
        upstream.body.destroy();
        return this.s.credit.settle(hold, 0n);
      }
      upstreamBody = upstream.body;
      if (status >= 500 || status === 429) {
        const text = await upstream.body.text().catch(() => "");
        this.s.metrics.upstreamFailures.inc({ listing: listing.slug });
        lastFailure = `${listing.slug} answered ${status}${text ? `: ${text.slice(0, 300)}` : ""}`;
        if (clientGone) return this.s.credit.settle(hold, 0n);
        upstreamBody = null;
        continue;
      }
      if (status >= 400) {
        // The request itself is wrong (the upstream's words, in OpenAI's envelope); nothing was generated.
        const text = await upstream.body.text().catch(() => "");
        this.s.credit.settle(hold, 0n);
        this.count(endpoint, status, started, false);
        return sendJson(res, status, text || JSON.stringify({ error: { message: `Upstream answered ${status}`, type: "invalid_request_error", param: null, code: null } }), {
          ...headers,
          "x-should-retry": "false",
        });
      }
      if (stream) return this.relayStream(r, listing, upstream, res, () => clientGone);
      return this.relayJson(r, listing, upstream, res, () => clientGone);
    }
    this.s.credit.settle(hold, 0n);
    fail(apiError("UPSTREAM_FAILED", "upstream_error", `No provider could serve the request (${route.candidates.length} tried); last: ${lastFailure}`));
  }

  /**
   * Bills a finished request: tokens from the upstream's usage when it sent
   * one, else counted (estimated); journals the event, returns the unused hold.
   */
  private finish(r: Request, listing: RoutingListing, o: Outcome, then?: (bill: Bill) => void): Bill {
    const ended = Date.now();
    const estimated = o.usage === null;
    const promptTokens = o.usage ? o.usage.promptTokens : r.promptTokens;
    const cachedTokens = o.usage ? o.usage.cachedTokens : 0;
    const outputTokens = o.usage ? o.usage.completionTokens : o.countedOutput;
    const costNano = usageCostNano({ input: promptTokens - cachedTokens, output: outputTokens, cachedInput: cachedTokens }, priceAt(listing, r.started));
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
  }

  private relayJson(r: Request, listing: RoutingListing, upstream: Dispatcher.ResponseData, res: http.ServerResponse, clientGone: () => boolean) {
    const chunks: Buffer[] = [];
    const body = upstream.body;
    body.on("data", (c: Buffer) => chunks.push(c));
    body.on("error", () => {
      // Nothing reached the client, so nothing it saw was produced: the hold goes back whole.
      this.s.credit.settle(r.hold, 0n);
      if (clientGone()) return;
      this.count(r.endpoint, 502, r.started, false);
      sendError(res, apiError("UPSTREAM_FAILED", "upstream_error", "The provider's answer broke off"), { ...r.headers, "x-should-retry": "false" });
    });
    body.on("end", () => {
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      // Usage sits at the end of OpenAI-style answers: parse just that object when it is there.
      const at = raw.lastIndexOf(USAGE_OPEN);
      let usage = at === -1 ? null : readUsage(parseObjectAt(raw, at + USAGE_OPEN.length - 1));
      let parsed: Record<string, unknown> | null = null;
      if (!usage) {
        try {
          const p = JSON.parse(raw.toString("utf8")) as unknown;
          if (isObject(p)) parsed = p;
        } catch {
          parsed = null;
        }
        usage = parsed ? readUsage(parsed.usage) : null;
      }
      const counted = usage || !parsed ? 0 : countTextTokens(answerText(r.endpoint, parsed));
      this.finish(r, listing, { status: "ok", usage, countedOutput: counted, firstTokenAt: null, upstreamStatus: upstream.statusCode }, (bill) => {
        const cost = usdDecimal(bill.costNano);
        let out: Buffer | string = raw;
        if (usage && at !== -1) {
          // Splice `"cost"` into the upstream's own usage object instead of re-serialising the whole answer.
          const cut = at + USAGE_OPEN.length;
          out = replaceModel(Buffer.concat([raw.subarray(0, cut), Buffer.from(`"cost":"${cost}",`), raw.subarray(cut)]), listing.slug);
        } else if (parsed) {
          if (typeof parsed.model === "string") parsed.model = listing.slug;
          parsed.usage = {
            ...(isObject(parsed.usage) ? parsed.usage : {}),
            prompt_tokens: bill.promptTokens,
            completion_tokens: bill.outputTokens,
            total_tokens: bill.promptTokens + bill.outputTokens,
            cost,
            ...(bill.estimated ? { estimated: true } : {}),
          };
          out = JSON.stringify(parsed);
        }
        this.count(r.endpoint, upstream.statusCode, r.started, false);
        sendJson(res, upstream.statusCode, out, r.headers);
      });
    });
  }

  private relayStream(r: Request, listing: RoutingListing, upstream: Dispatcher.ResponseData, res: http.ServerResponse, clientGone: () => boolean) {
    res.writeHead(200, {
      ...CORS_HEADERS,
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      "x-accel-buffering": "no",
      ...r.headers,
    });
    // Events that arrive in the same event-loop turn leave in one write: the socket is corked at
    // the turn's first write and uncorked once the turn's I/O is done (setImmediate). Nothing is
    // held longer than that; under load it saves a syscall per event, the proxy's largest cost.
    const socket = res.socket;
    let corked = false;
    const uncork = () => {
      corked = false;
      socket?.uncork();
    };
    const relay = new SseRelay(r.endpoint === "chat" ? "chat" : "completion", (d) => {
      if (!corked && socket) {
        corked = true;
        socket.cork();
        setImmediate(uncork);
      }
      return res.write(d);
    }, Date.now, listing.slug);
    const body = upstream.body;
    let done = false;
    const end = (status: UsageEvent["status"], error: ApiError | null) => {
      if (done) return;
      done = true;
      const outcome = {
        status,
        // The upstream's count when it came (it arrives last: everything was produced), else what streamed.
        usage: relay.usage,
        countedOutput: relay.outputTokens,
        firstTokenAt: relay.firstTokenAt,
        upstreamStatus: upstream.statusCode,
      };
      this.count(r.endpoint, 200, r.started, true);
      if (status === "aborted") return void this.finish(r, listing, outcome);
      this.finish(r, listing, outcome, (bill) => {
        if (error) return void res.end(sseErrorEvent(error));
        if (r.wantsUsage) {
          const chunk = relay.usageChunk ?? {
            id: `gen-${r.requestId}`,
            object: r.endpoint === "chat" ? "chat.completion.chunk" : "text_completion",
            created: Math.floor(r.started / 1000),
            model: listing.slug,
            choices: [],
          };
          const upstreamUsage = isObject(chunk.usage) ? chunk.usage : {};
          chunk.usage = {
            prompt_tokens: bill.promptTokens,
            completion_tokens: bill.outputTokens,
            total_tokens: bill.promptTokens + bill.outputTokens,
            ...upstreamUsage,
            cost: usdDecimal(bill.costNano),
            ...(bill.estimated ? { estimated: true } : {}),
          };
          res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        }
        res.end(DONE_EVENT);
      });
    };
    body.on("data", (c: Buffer) => {
      if (!relay.push(c)) {
        body.pause();
        res.once("drain", () => body.resume());
      }
    });
    body.on("end", () => end("ok", null));
    body.on("error", (err: Error) => {
      if (clientGone()) return end("aborted", null);
      this.s.log(`upstream stream from ${listing.slug} broke: ${err.message}`);
      end("error", apiError("UPSTREAM_FAILED", "upstream_error", "The provider's stream broke off; the tokens streamed so far are billed"));
    });
    // A client that leaves mid-stream: run() destroys the upstream body, which lands in "error" above.
  }
}
