import type { Dialect } from "../types";
import { MessagesStream, messagesErrorBody, messagesJson } from "./answer";
import { messagesToChat } from "./request";

/**
 * Anthropic's Messages API on POST /v1/messages. `anthropic-version` is accepted
 * whatever its value (the translation follows the 2023-06-01 shapes every version
 * keeps); the key comes as `x-api-key` or `Authorization: Bearer` (auth.ts).
 */
export const messagesDialect: Dialect = {
  path: "/v1/messages",
  parse: (body) => messagesToChat(body),
  toJson: messagesJson,
  stream: (ctx) => new MessagesStream(ctx),
  error: (e) => ({ status: e.status, body: messagesErrorBody(e) }),
};
