import { usdDecimal } from "../ledger/money";
import { billRequest } from "./billing";
import { energyClaim, energyField, jsonFinishReason } from "./finish-energy";
import { sendError, sendInternalError, sendJson } from "./http";
import { answerText, isObject, parseObjectAt } from "./inputs";
import { apiError } from "./openai-errors";
import { Breach, type Relay } from "./relay";
import { readUsage, spliceAnswer } from "./sse";
import { answerTokens } from "./tokens";

/** A non-streamed answer: read whole (capped), billed, relayed with `usage.cost` added. */

const USAGE_OPEN = Buffer.from('"usage":{');

/** Runs a listener so that nothing it throws escapes into the event loop (which would end the process). */
function contained<A extends unknown[]>(x: Relay, fn: (...args: A) => void) {
  return (...args: A) => {
    try {
      fn(...args);
    } catch (err) {
      // The hold is left to lapse with its reservation rather than risk returning it twice.
      x.upstream.body.destroy();
      sendInternalError(x.res, x.s.log, err, x.r.requestId, x.r.dialect?.dialect);
    }
  };
}

function parseOrEmpty(raw: Buffer): Record<string, unknown> {
  try {
    const p = JSON.parse(raw.toString("utf8")) as unknown;
    return isObject(p) ? p : {};
  } catch {
    return {};
  }
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
      if (!(err instanceof Breach)) s.log("upstream answer broke", { requestId: r.requestId, listing: listing.slug, err });
      x.count(r.label, 502, r.started, false);
      sendError(
        res,
        apiError("UPSTREAM_FAILED", "upstream_error", err instanceof Breach ? err.message : "The provider's answer broke off"),
        { ...r.headers, "x-should-retry": "false" },
        r.dialect?.dialect,
      );
    }),
  );
  body.on(
    "end",
    contained(x, () => {
      const raw = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      // Usage sits at the end of OpenAI-style answers: parse just that object when it is there.
      const at = raw.lastIndexOf(USAGE_OPEN);
      const usageObject = at === -1 ? null : parseObjectAt(raw, at + USAGE_OPEN.length - 1);
      let usage = readUsage(usageObject);
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
        x.count(r.label, 502, r.started, false);
        return sendError(
          res,
          apiError("UPSTREAM_FAILED", "upstream_error", "The provider's answer is not valid JSON"),
          { ...r.headers, "x-should-retry": "false" },
          r.dialect?.dialect,
        );
      }
      const counted = usage || !parsed ? 0 : answerTokens(listing.tokenizer, answerText(r.endpoint, parsed));
      const outcome = {
        status: "ok" as const,
        usage,
        countedOutput: counted,
        firstTokenAt: null,
        upstreamStatus: upstream.statusCode,
        // An embedding has no finish reason: answered whole is its normal end.
        finishReason: r.endpoint === "embeddings" ? "stop" : jsonFinishReason(raw),
        sawEnd: true,
        energy: energyClaim(upstream.headers["x-energy-joules"], energyField(isObject(usageObject) ? usageObject : parsed?.usage)),
      };
      billRequest(s, r, listing, outcome, (bill) => {
        if (r.dialect) {
          // Usage was found on its own but the answer around it may not parse: then it has no words to translate.
          parsed ??= parseOrEmpty(raw);
          const answer = r.dialect.dialect.toJson(parsed, bill, r.dialect.ctx, {
            requestId: r.requestId,
            model: listing.slug,
            started: r.started,
            promptTokens: r.promptTokens,
          });
          x.count(r.label, upstream.statusCode, r.started, false);
          return sendJson(res, upstream.statusCode, JSON.stringify(answer), r.headers);
        }
        const cost = usdDecimal(bill.costNano);
        let out: Buffer | string = raw;
        const asReported =
          usage && bill.promptTokens === usage.promptTokens && bill.outputTokens === usage.completionTokens && bill.cachedTokens === usage.cachedTokens;
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
        x.count(r.label, upstream.statusCode, r.started, false);
        sendJson(res, upstream.statusCode, out, r.headers);
      });
    }),
  );
}
