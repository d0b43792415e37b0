import { usdDecimal } from "../ledger/money";
import type { UsageEvent } from "../usage/contract";
import type http from "node:http";
import { billRequest } from "./billing";
import type { DialectStream } from "./dialects/types";
import { CORS_HEADERS } from "./http";
import { isObject } from "./inputs";
import { apiError, sseErrorEvent, type ApiError } from "./openai-errors";
import { answerContext, Breach, type Relay } from "./relay";
import { SseRelay } from "./sse";

/** A streamed answer, relayed event by event; billed when it ends, however it ends. */

const DONE_EVENT = "data: [DONE]\n\n";

/** Whole upstream events (as the relay forwards them: bytes, or latin1 text of them) through a dialect's translator. */
function translateEvents(dialect: DialectStream, data: Buffer | string, res: http.ServerResponse): boolean {
  const text = typeof data === "string" ? Buffer.from(data, "latin1").toString("utf8") : data.toString("utf8");
  let out = "";
  for (const line of text.split("\n")) {
    if (!line.startsWith("data:")) continue;
    let chunk: unknown;
    try {
      chunk = JSON.parse(line.slice(5));
    } catch {
      continue;
    }
    out += dialect.push(chunk);
  }
  return out ? res.write(out) : true;
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
  const write = (d: Buffer | string) => {
    if (!corked && socket) {
      corked = true;
      socket.cork();
      setImmediate(() => {
        corked = false;
        socket.uncork();
      });
    }
    return typeof d === "string" ? res.write(d, "latin1") : res.write(d);
  };
  // Another client's API: the events the relay would forward are translated into that API's events.
  const dialect = r.dialect ? r.dialect.dialect.stream(answerContext(r, listing.slug, r.dialect)) : null;
  if (dialect) res.write(dialect.start());
  const relay = new SseRelay(
    r.endpoint === "chat" ? "chat" : "completion",
    dialect ? (d) => translateEvents(dialect, d, res) : write,
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
      if (status === "aborted") return void billRequest(s, r, listing, outcome);
      billRequest(s, r, listing, outcome, (bill) => {
        if (error) return void res.end(dialect ? dialect.fail(error, bill) : sseErrorEvent(error));
        if (dialect) return void res.end(dialect.finish(bill));
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
      if (!(err instanceof Breach)) s.log(`upstream stream from ${listing.slug} broke: ${err.message}`);
      const why = err instanceof Breach ? err.message : "The provider's stream broke off";
      on.end("error", apiError("UPSTREAM_FAILED", "upstream_error", `${why}; the tokens streamed so far are billed`));
    } catch (e) {
      on.fault(e);
    }
  });
  // A client that leaves mid-stream: the proxy (forward in proxy.ts) destroys the upstream body, which lands in "error" above.
}
