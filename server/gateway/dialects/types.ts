import type { IncomingHttpHeaders } from "node:http";
import type { ApiError } from "../openai-errors";
import type { Bill } from "../bill";

/**
 * A client dialect: an API other than Chat Completions (OpenAI Responses, Anthropic
 * Messages) that the proxy speaks to its clients and translates to the upstream's
 * Chat Completions. Only the two ends change: the request is translated before
 * admission and the answer after billing, so the hold, the usage event and its cost
 * are computed exactly as for chat, from the translated request and the upstream's
 * chat usage. Implementations are pure (no I/O): one folder per dialect.
 */

/** What every translated answer carries besides the upstream's words. */
export type AnswerMeta = {
  /** The proxy's request id (the usage event's id and `x-request-id`). */
  requestId: string;
  /** The listing's slug, as every answer names its model. */
  model: string;
  /** When the request arrived (ms since epoch). */
  started: number;
  /** The proxy's own prompt count, the hold's: a stream's opening event may report it before the upstream's usage arrives. */
  promptTokens: number;
};

/** An error already in the dialect's own envelope. */
export type ShapedError = { status: number; headers?: Record<string, string>; body: string };

/** Turns an upstream's chat SSE chunks into the dialect's SSE events, as text to write. */
export interface StreamTranslator {
  /** What opens the stream, written before any upstream event ("" for nothing). */
  start(): string;
  /** Complete upstream SSE events (bytes, or the same bytes as latin1 text); returns what to write, "" for nothing. */
  push(events: Buffer | string): string;
  /** The closing events, with the usage as billed (and its cost). */
  end(bill: Bill): string;
  /** The stream broke after it started: the dialect's error event, with what was billed. */
  fail(error: ApiError, bill: Bill): string;
}

export interface Dialect<Ctx = unknown> {
  /** The request path it is served on (POST). */
  path: string;
  /** Its label in the proxy's request metrics (`endpoint`), so it is told apart from chat there. */
  label: string;
  /** A header, besides `x-request-id`, its clients read the request id from. */
  requestIdHeader?: string;
  /**
   * The client's JSON body as a Chat Completions request, with what the answer needs to echo; an ApiError names
   * the bad field. `headers`: the request's, for what a dialect carries there (Anthropic's `anthropic-version`).
   */
  parse(body: Record<string, unknown>, headers: IncomingHttpHeaders): { chat: Record<string, unknown>; ctx: Ctx } | ApiError;
  /** The upstream's non-streamed chat answer as the dialect's answer, with the usage as billed. */
  toJson(answer: Record<string, unknown>, bill: Bill, ctx: Ctx, meta: AnswerMeta): unknown;
  stream(ctx: Ctx, meta: AnswerMeta): StreamTranslator;
  /** Any error the proxy answers, in the dialect's envelope. */
  error(e: ApiError): ShapedError;
}

/** A request being served in a dialect: the dialect and what its parse kept for the answer. */
export type DialectRequest = { dialect: Dialect; ctx: unknown };
