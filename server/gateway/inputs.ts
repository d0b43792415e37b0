import type { PricesPer1k } from "../ledger/money";
import type { RoutingListing } from "./backend";
import { apiError, type ApiError } from "./openai-errors";
import { priceAt, type Endpoint } from "./routing";

/** The proxy's checks and readings of request and answer bodies (pure). */

/** Most completions one request may ask for (`n`, `best_of`): OpenAI's own limit; each is held for in full. */
export const MAX_CHOICES = 128;

/** How many completions the upstream generates (and bills) for a request: the larger of `n` and `best_of`. */
export function choicesOf(body: Record<string, unknown>): number {
  const n = typeof body.n === "number" ? body.n : 1;
  const best = typeof body.best_of === "number" ? body.best_of : 1;
  return Math.max(n, best);
}

/** The most tokens one usage event may carry (the usage contract's bound): no request asks for more. */
export const MAX_TOKENS = 100_000_000;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The highest of each price across the candidates: a hold must cover whichever of them serves. */
export function worstPrices(listings: RoutingListing[], now: number): PricesPer1k {
  const out = { inputPer1kNano: 0n, outputPer1kNano: 0n, cachedInputPer1kNano: 0n };
  for (const l of listings) {
    const p = priceAt(l, now);
    if (p.inputPer1kNano > out.inputPer1kNano) out.inputPer1kNano = p.inputPer1kNano;
    if (p.outputPer1kNano > out.outputPer1kNano) out.outputPer1kNano = p.outputPer1kNano;
    if (p.cachedInputPer1kNano > out.cachedInputPer1kNano) out.cachedInputPer1kNano = p.cachedInputPer1kNano;
  }
  return out;
}

function bad(param: string, message: string): ApiError {
  return apiError("INVALID_INPUT", "invalid_value", `${param}: ${message}`, { param });
}

// Module-level helpers rather than closures here and in the proxy's other per-request code: under tsx
// (how the proxy runs) each named closure costs an Object.defineProperty per call (esbuild's keepNames).
export function validate(endpoint: Endpoint, body: Record<string, unknown>): ApiError | null {
  if (typeof body.model !== "string" || body.model.length === 0)
    return bad("model", "is required (a listing slug such as `provider/model`, or a model family)");
  if (endpoint === "chat" && (!Array.isArray(body.messages) || body.messages.length === 0)) return bad("messages", "must be a non-empty array");
  if (endpoint === "completion" && typeof body.prompt !== "string" && !Array.isArray(body.prompt)) return bad("prompt", "must be a string or an array");
  if (endpoint === "embeddings" && typeof body.input !== "string" && !Array.isArray(body.input)) return bad("input", "must be a string or an array");
  for (const field of ["max_tokens", "max_completion_tokens"]) {
    const v = body[field];
    if (v !== undefined && v !== null && !(typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= MAX_TOKENS))
      return bad(field, `must be a whole number from 1 to ${MAX_TOKENS}`);
  }
  for (const field of ["n", "best_of"]) {
    const v = body[field];
    if (v !== undefined && v !== null && !(typeof v === "number" && Number.isInteger(v) && v >= 1 && v <= MAX_CHOICES))
      return bad(field, `must be a whole number from 1 to ${MAX_CHOICES}`);
  }
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean") return bad("stream", "must be true or false");
  return null;
}

/** Parses the JSON object starting at `start` (a `{`) up to its matching brace; null if it is not one. */
export function parseObjectAt(buf: Buffer, start: number): unknown {
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
export function answerText(endpoint: Endpoint, parsed: Record<string, unknown>): string {
  if (!Array.isArray(parsed.choices)) return "";
  let text = "";
  for (const c of parsed.choices as { message?: { content?: unknown }; text?: unknown }[]) {
    const t = endpoint === "chat" ? c?.message?.content : c?.text;
    if (typeof t === "string") text += t;
  }
  return text;
}

const SECRET_SHAPES = [/bearer\s+[^\s"',;]+/gi, /\b(?:sk|pk|rk|key|token)[-_][A-Za-z0-9_-]{6,}/gi];

/**
 * What a buyer may read of an upstream's error: its OpenAI-style `error.message` only
 * (never the body, which may echo headers), with the listing's credential and anything
 * shaped like a key masked, at most 300 characters. Empty when there is no such message.
 */
export function scrubbedUpstreamMessage(body: string, credential: string | null): string {
  let message: unknown;
  try {
    message = (JSON.parse(body) as { error?: { message?: unknown } } | null)?.error?.message;
  } catch {
    return "";
  }
  if (typeof message !== "string") return "";
  let text = credential ? message.split(credential).join("••••") : message;
  for (const shape of SECRET_SHAPES) text = text.replace(shape, "••••");
  return text.slice(0, 300);
}
