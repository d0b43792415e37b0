import type { Dialect } from "../types";
import { MessagesStream, messagesErrorBody, messagesJson } from "./answer";
import { messagesToChat, type MessagesCtx } from "./request";

/**
 * Anthropic's Messages API on POST /v1/messages. `anthropic-version` is accepted
 * whatever its value (the translation follows the 2023-06-01 shapes every version
 * keeps); the key comes as `x-api-key` or `Authorization: Bearer` (auth.ts).
 */
export const messagesDialect: Dialect<MessagesCtx> = {
  path: "/v1/messages",
  label: "messages",
  // Anthropic's clients quote the id from `request-id`.
  requestIdHeader: "request-id",
  parse: (body) => messagesToChat(body),
  toJson: messagesJson,
  stream: (ctx, meta) => new MessagesStream(ctx, meta),
  // Its own headers too: a 429's retry-after is what the SDK's backoff reads.
  error: (e) => ({ status: e.status, headers: e.headers, body: messagesErrorBody(e) }),
};
