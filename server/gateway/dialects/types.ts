import type { IncomingHttpHeaders } from "node:http";
import type { ApiError } from "../openai-errors";

/**
 * A client dialect: an API other than Chat Completions (Anthropic's Messages,
 * OpenAI's Responses) that the proxy serves by translating it to the upstream's
 * Chat Completions and the answer back. Everything between the two translations
 * (routing, limits, the credit hold, billing) sees only the chat request and the
 * upstream's chat answer, so a dialect cannot change what a request costs.
 */

/** What the request was billed, as the dialect reports it back (tokens as billed, cost in nano-USD). */
export type DialectBill = { costNano: bigint; estimated: boolean; promptTokens: number; outputTokens: number; cachedTokens: number };

/** Facts of the request an answer is built from. */
export type AnswerContext = {
  requestId: string;
  /** The listing's slug: the model name the client is answered with. */
  model: string;
  /** The proxy's own prompt count (the upstream's arrives only at the end of a stream). */
  promptTokens: number;
  /** The chat request that went upstream (the dialect reads back what it translated, e.g. stop sequences). */
  chat: Record<string, unknown>;
};

/** Translates one streamed answer: upstream chat chunks in, the dialect's SSE text out. */
export type DialectStream = {
  /** What opens the stream, before any upstream chunk. */
  start(): string;
  /** One parsed upstream chunk (`data:` JSON of a chat.completion.chunk); never throws on a malformed one. */
  push(chunk: unknown): string;
  /** What closes a stream that ended normally: the final usage with its cost. */
  finish(bill: DialectBill): string;
  /** What closes a stream that broke after it started (the error event of the dialect). */
  fail(e: ApiError, bill: DialectBill): string;
};

export type Dialect = {
  /** The POST path it is served on. */
  path: string;
  /** The client's body as a Chat Completions request, or the error naming the field at fault. */
  parse(body: Record<string, unknown>, headers: IncomingHttpHeaders): { chat: Record<string, unknown> } | ApiError;
  /** A non-streamed upstream chat answer as the dialect's answer (JSON text). */
  toJson(answer: Record<string, unknown>, ctx: AnswerContext, bill: DialectBill): string;
  stream(ctx: AnswerContext): DialectStream;
  /** An error in the dialect's own shape (status may differ where the dialect has its own). */
  error(e: ApiError): { status: number; body: string };
};
