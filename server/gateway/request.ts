import type { IncomingHttpHeaders } from "node:http";
import type { Dialect, DialectRequest } from "./dialects/types";
import { BodyTooLarge } from "./http";
import { isObject, validate } from "./inputs";
import { apiError, type ApiError } from "./openai-errors";
import type { RoutingListing } from "./backend";
import type { Endpoint } from "./routing";
import { countPrompt, type PromptCount } from "./tokens";

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

function parseJsonObject(raw: Buffer, refuse: Refuse): Record<string, unknown> | null {
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
  const parsed = parseJsonObject(raw, refuse);
  if (!parsed) return null;
  const invalid = validate(endpoint, parsed);
  if (invalid) {
    refuse(invalid);
    return null;
  }
  return parsed;
}

/**
 * A request in a client dialect as the chat request it stands for (checked as chat as well,
 * so the pipeline after it sees nothing it would not see from a chat client); null once refused.
 */
export function parseDialectRequest(
  dialect: Dialect,
  raw: Buffer,
  headers: IncomingHttpHeaders,
  refuse: Refuse,
): { chat: Record<string, unknown>; dialect: DialectRequest } | null {
  const parsed = parseJsonObject(raw, refuse);
  if (!parsed) return null;
  const t = dialect.parse(parsed, headers);
  const invalid = "chat" in t ? validate("chat", t.chat) : t;
  if (invalid) {
    refuse(invalid);
    return null;
  }
  if (!("chat" in t)) return null;
  return { chat: t.chat, dialect: { dialect, ctx: t.ctx } };
}

/** The prompt's tokens with the candidates' tokenizers (for limits and the hold); null once refused. */
export function countPromptTokens(endpoint: Endpoint, body: Record<string, unknown>, candidates: RoutingListing[], refuse: Refuse): PromptCount | null {
  try {
    return countPrompt(endpoint, body, candidates);
  } catch {
    refuse(apiError("INVALID_INPUT", "invalid_value", "The request body is nested too deeply to read"));
    return null;
  }
}
