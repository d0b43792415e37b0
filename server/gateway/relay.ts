import type http from "node:http";
import type { Dispatcher } from "undici";
import { usdDecimal } from "../ledger/money";
import type { UsageEvent } from "../usage/contract";
import type { ActiveKey, RoutingListing } from "./backend";
import type { UsageBounds } from "./estimate";
import { CORS_HEADERS, sendError, sendInternalError, sendJson } from "./http";
import { answerText, isObject, parseObjectAt } from "./inputs";
import { apiError, sseErrorEvent, type ApiError } from "./openai-errors";
import type { Hold } from "./reservations";
import type { Endpoint } from "./routing";
import type { GatewayState } from "./server";
import { readUsage, SseRelay, spliceAnswer, type UpstreamUsage } from "./sse";
import { countTextTokens } from "./tokens";

/**
 * Relays an upstream's answer to the buyer: the JSON body with `usage.cost`
 * added, or the SSE stream event by event. An upstream is hostile input: its
 * answer is capped in size (the JSON body, one SSE event) and in time (the
 * proxy's request cap cuts it with a Breach); a breach ends the response with
 * a 502 envelope or an SSE error event and bills only what was delivered.
 */

export type Request = {
  requestId: string;
  endpoint: Endpoint;
  key: ActiveKey;
  started: number;
  promptTokens: number;
  stream: boolean;
  wantsUsage: boolean;
  hold: Hold;
  headers: Record<string, string>;
  /** What the request could produce: billing never goes past it (estimate.ts billableUsage). */
  bounds: UsageBounds;
};

export type Bill = { costNano: bigint; estimated: boolean; promptTokens: number; outputTokens: number; cachedTokens: number };

export type Outcome = {
  status: UsageEvent["status"];
  usage: UpstreamUsage | null;
  countedOutput: number;
  firstTokenAt: number | null;
  upstreamStatus: number | null;
};

/** An upstream answer past a size or time cap; the message is for the buyer. */
export class Breach extends Error {}

export type Relay = {
  s: GatewayState;
  r: Request;
  listing: RoutingListing;
  upstream: Dispatcher.ResponseData;
  res: http.ServerResponse;
  clientGone: () => boolean;
  finish: (r: Request, listing: RoutingListing, o: Outcome, then?: (bill: Bill) => void) => Bill;
  count: (endpoint: Endpoint, status: number, started: number, stream: boolean) => void;
};

const USAGE_OPEN = Buffer.from('"usage":{');
const DONE_EVENT = "data: [DONE]\n\n";

/** Runs a listener so that nothing it throws escapes into the event loop (which would end the process). */
function contained<A extends unknown[]>(x: Relay, fn: (...args: A) => void) {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      // The hold is left to lapse with its reservation rather than risk returning it twice.
      x.upstream.body.destroy();
      sendInternalError(x.res, x.s.log, err, x.r.requestId);
    }
  };
}

export function relayJson(x: Relay) {
  const { s, r, listing, upstream, res } = x;
  const chunks: Buffer[] = [];
  let size = 0;
  const body = upstream.body;
  body.on(
    "data",
    contained(x, (c: Buffer) => {
      size += c.length;
      if (size > s.config.maxUpstreamBodyBytes) return void body.destroy(new Breach("The provider's answer is larger than this proxy accepts"));
      chunks.push(c);
    }),
  );
  body.on(
    "error",
    contained(x, (err: Error) => {
      // Nothing reached the client, so nothing it saw was produced: the hold goes back whole.
      chunks.length = 0;
      s.credit.settle(r.hold, 0n);
      if (x.clientGone()) return;
      if (!(err instanceof Breach)) s.log(`upstream answer from ${listing.slug} broke: ${err.message}`);
      x.count(r.endpoint, 502, r.started, false);
      sendError(res, apiError("UPSTREAM_FAILED", "upstream_error", err instanceof Breach ? err.message : "The provider's answer broke off"), { ...r.headers, "x-should-retry": "false" });
    }),
  );
  body.on(
    "end",
    contained(x, () => {
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
      if (!usage && !parsed) {
        // Not an answer at all: nothing usable was delivered, nothing is billed.
        s.credit.settle(r.hold, 0n);
        x.count(r.endpoint, 502, r.started, false);
        return sendError(res, apiError("UPSTREAM_FAILED", "upstream_error", "The provider's answer is not valid JSON"), { ...r.headers, "x-should-retry": "false" });
      }
      const counted = usage || !parsed ? 0 : countTextTokens(answerText(r.endpoint, parsed));
      x.finish(r, listing, { status: "ok", usage, countedOutput: counted, firstTokenAt: null, upstreamStatus: upstream.statusCode }, (bill) => {
        const cost = usdDecimal(bill.costNano);
        let out: Buffer | string = raw;
        const asReported = usage && bill.promptTokens === usage.promptTokens && bill.outputTokens === usage.completionTokens && bill.cachedTokens === usage.cachedTokens;
        if (asReported && at !== -1) {
          // Splice `"cost"` into the upstream's own usage object instead of re-serialising the whole answer.
          const cut = at + USAGE_OPEN.length;
          out = spliceAnswer(raw, listing.slug, cut, `"cost":"${cost}",`);
        } else {
          parsed ??= JSON.parse(raw.toString("utf8")) as Record<string, unknown>;
          if (typeof parsed.model === "string") parsed.model = listing.slug;
          parsed.usage = {
            ...(isObject(parsed.usage) && asReported ? parsed.usage : {}),
            prompt_tokens: bill.promptTokens,
            completion_tokens: bill.outputTokens,
            total_tokens: bill.promptTokens + bill.outputTokens,
            cost,
            ...(bill.estimated ? { estimated: true } : {}),
          };
          out = JSON.stringify(parsed);
        }
        x.count(r.endpoint, upstream.statusCode, r.started, false);
        sendJson(res, upstream.statusCode, out, r.headers);
      });
    }),
  );
}

export function relayStream(x: Relay) {
  const { s, r, listing, upstream, res } = x;
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
  const relay = new SseRelay(
    r.endpoint === "chat" ? "chat" : "completion",
    (d) => {
      if (!corked && socket) {
        corked = true;
        socket.cork();
        setImmediate(() => {
          corked = false;
          socket.uncork();
        });
      }
      return typeof d === "string" ? res.write(d, "latin1") : res.write(d);
    },
    Date.now,
    listing.slug,
    s.config.maxSseEventBytes,
  );
  const body = upstream.body;
  let done = false;
  // Methods, not named closures: under tsx (esbuild keepNames) each named closure costs a defineProperty per stream.
  const on = {
    end(status: UsageEvent["status"], error: ApiError | null) {
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
      x.count(r.endpoint, 200, r.started, true);
      if (status === "aborted") return void x.finish(r, listing, outcome);
      x.finish(r, listing, outcome, (bill) => {
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
            ...upstreamUsage,
            prompt_tokens: bill.promptTokens,
            completion_tokens: bill.outputTokens,
            total_tokens: bill.promptTokens + bill.outputTokens,
            cost: usdDecimal(bill.costNano),
            ...(bill.estimated ? { estimated: true } : {}),
          };
          res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        }
        res.end(DONE_EVENT);
      });
    },
    fault(err: unknown) {
      // Whatever went wrong is ours: the buyer gets an error event, what streamed is billed.
      s.log(`relaying ${r.requestId} from ${listing.slug} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      body.destroy();
      if (!done) on.end("error", apiError("UPSTREAM_FAILED", "upstream_error", `The stream broke off (request id ${r.requestId}); the tokens streamed so far are billed`));
      else res.destroy();
    },
  };
  body.on("data", (c: Buffer) => {
    try {
      const ok = relay.push(c);
      if (relay.overflow) return void body.destroy(new Breach("The provider sent an event larger than this proxy accepts"));
      if (!ok) {
        body.pause();
        res.once("drain", () => body.resume());
      }
    } catch (err) {
      on.fault(err);
    }
  });
  body.on("end", () => {
    try {
      on.end("ok", null);
    } catch (err) {
      on.fault(err);
    }
  });
  body.on("error", (err: Error) => {
    try {
      if (x.clientGone()) return on.end("aborted", null);
      if (!(err instanceof Breach)) s.log(`upstream stream from ${listing.slug} broke: ${err.message}`);
      const why = err instanceof Breach ? err.message : "The provider's stream broke off";
      on.end("error", apiError("UPSTREAM_FAILED", "upstream_error", `${why}; the tokens streamed so far are billed`));
    } catch (e) {
      on.fault(e);
    }
  });
  // A client that leaves mid-stream: run() destroys the upstream body, which lands in "error" above.
}
