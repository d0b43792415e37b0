import { usdDecimal } from "../ledger/money";
import type { UsageEvent } from "../usage/contract";
import { withReasoning } from "./bill";
import { billRequest } from "./billing";
import { energyClaim } from "./finish-energy";
import { CORS_HEADERS } from "./http";
import { isObject } from "./inputs";
import { apiError, sseErrorEvent, type ApiError } from "./openai-errors";
import { Breach, type Relay } from "./relay";
import { SseRelay } from "./sse";
import { tokenizerOf } from "../tokens/rules";

/** A streamed answer, relayed event by event; billed when it ends, however it ends. */

const DONE_EVENT = "data: [DONE]\n\n";

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
  const cork = () => {
    if (corked || !socket) return;
    corked = true;
    socket.cork();
    setImmediate(() => {
      corked = false;
      socket.uncork();
    });
  };
  // A client dialect gets the upstream's events translated (as UTF-8 text); the SseRelay still meters them.
  const translator = r.dialect
    ? r.dialect.dialect.stream(r.dialect.ctx, { requestId: r.requestId, model: listing.slug, started: r.started, promptTokens: r.promptTokens })
    : null;
  const opening = translator?.start();
  if (opening) {
    // Sent now (a client sees the response begin before the first token), but corked: the upstream's
    // first events usually arrive in this same turn and leave in the same write as the headers and this.
    cork();
    res.write(opening);
  }
  const relay = new SseRelay(
    r.endpoint === "chat" ? "chat" : "completion",
    (d) => {
      const out = translator ? translator.push(d) : d;
      if (out === "") return true;
      cork();
      return translator ? res.write(out) : typeof out === "string" ? res.write(out, "latin1") : res.write(out);
    },
    Date.now,
    translator ? null : listing.slug,
    s.config.maxSseEventBytes,
    tokenizerOf(listing.tokenizer),
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
        // Counting is not free (the whole streamed text, with the listing's tokenizer): only without usage.
        countedOutput: relay.usage ? 0 : relay.outputTokens,
        firstTokenAt: relay.firstTokenAt,
        upstreamStatus: upstream.statusCode,
        finishReason: relay.finishReason,
        sawEnd: relay.sawDone,
        energy: energyClaim(upstream.headers["x-energy-joules"], relay.energyJoules),
      };
      x.count(r.label, 200, r.started, true);
      if (status === "aborted") return void billRequest(s, r, listing, outcome);
      billRequest(s, r, listing, outcome, (bill) => {
        if (translator) {
          const billed = withReasoning(bill, relay.usageChunk?.usage);
          return void res.end(error ? translator.fail(error, billed) : translator.end(billed));
        }
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
      s.log("relaying failed", { requestId: r.requestId, listing: listing.slug, err });
      body.destroy();
      if (!done)
        on.end(
          "error",
          apiError("UPSTREAM_FAILED", "upstream_error", `The stream broke off (request id ${r.requestId}); the tokens streamed so far are billed`),
        );
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
      if (!(err instanceof Breach)) s.log("upstream stream broke", { requestId: r.requestId, listing: listing.slug, err });
      const why = err instanceof Breach ? err.message : "The provider's stream broke off";
      on.end("error", apiError("UPSTREAM_FAILED", "upstream_error", `${why}; the tokens streamed so far are billed`));
    } catch (e) {
      on.fault(e);
    }
  });
  // A client that leaves mid-stream: the proxy (forward in proxy.ts) destroys the upstream body, which lands in "error" above.
}
