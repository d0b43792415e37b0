import type http from "node:http";
import type { Dialect } from "./dialects/types";
import { BodyTooLarge } from "./http";
import { isObject, validate } from "./inputs";
import { apiError, type ApiError } from "./openai-errors";
import type { Endpoint } from "./routing";
import { chatPromptTokens, textInputTokens } from "./tokens";

/**
 * Request validation, the proxy's first stage after authentication: the body
 * read, parsed and checked (inputs.ts), and its prompt counted. Each stage
 * answers a refused request through `refuse` and returns null.
 */

export type Refuse = (e: ApiError) => void;

/**
 * What to answer when the body could not be read: 413 for a body past the cap
 * (closing the connection, whose rest is not worth reading); nothing when the client broke off.
 */
export function refuseUnreadBody(err: unknown, headers: Record<string, string>, refuse: Refuse): void {
  if (!(err instanceof BodyTooLarge)) return;
  headers.connection = "close";
  refuse({ ...apiError("INVALID_INPUT", "request_too_large", "The request body is too large"), status: 413 });
}

/** The body as a JSON object; null once refused. */
function parseObject(raw: Buffer, refuse: Refuse): Record<string, unknown> | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw.toString("utf8"));
  } catch {
    refuse(apiError("INVALID_INPUT", "invalid_json", "We could not parse the JSON body of your request"));
    return null;
  }
  if (!isObject(parsed)) {
    refuse(apiError("INVALID_INPUT", "invalid_json", "The request body must be a JSON object"));
    return null;
  }
  return parsed;
}

/** The request's JSON object, valid for its endpoint; null once refused. */
export function parseRequest(endpoint: Endpoint, raw: Buffer, refuse: Refuse): Record<string, unknown> | null {
  const parsed = parseObject(raw, refuse);
  if (!parsed) return null;
  const invalid = validate(endpoint, parsed);
  if (invalid) {
    refuse(invalid);
    return null;
  }
  return parsed;
}

/** A client dialect's request translated to a chat request, valid as one; null once refused. */
export function parseDialectRequest(dialect: Dialect, raw: Buffer, headers: http.IncomingHttpHeaders, refuse: Refuse): Record<string, unknown> | null {
  const parsed = parseObject(raw, refuse);
  if (!parsed) return null;
  const translated = dialect.parse(parsed, headers);
  const invalid = "chat" in translated ? validate("chat", translated.chat) : translated;
  if (invalid) {
    refuse(invalid);
    return null;
  }
  return (translated as { chat: Record<string, unknown> }).chat;
}

/** The prompt's tokens as this proxy counts them (for limits and the hold); null once refused. */
export function countPromptTokens(endpoint: Endpoint, body: Record<string, unknown>, refuse: Refuse): number | null {
  try {
    return endpoint === "chat" ? chatPromptTokens(body) : textInputTokens(endpoint === "completion" ? body.prompt : body.input);
  } catch {
    refuse(apiError("INVALID_INPUT", "invalid_value", "The request body is nested too deeply to read"));
    return null;
  }
}
