import type http from "node:http";
import { routeRequest } from "../../admission";
import { authenticate } from "../../auth";
import { BodyTooLarge, readBody, sendError, sendJson } from "../../http";
import { apiError, type ApiError } from "../../openai-errors";
import type { GatewayState } from "../../state";
import { countPrompt } from "../../tokens";
import { messagesDialect } from "./index";
import { messagesToChat } from "./request";

/**
 * POST /v1/messages/count_tokens: the prompt tokens of a Messages request as the
 * proxy counts them for its credit hold (the same translation, the same routing to
 * the model's listings, their declared tokenizers, the largest count among them), so
 * a tool that sizes its context by it sees what it will be held for. Nothing goes
 * upstream and nothing is held or billed. `max_tokens` is not needed here.
 */
export async function countMessageTokens(state: GatewayState, req: http.IncomingMessage, res: http.ServerResponse, requestId: string) {
  const headers = { "x-request-id": requestId, "request-id": requestId };
  const fail = (e: ApiError) => sendError(res, e, headers, messagesDialect);
  const authed = await authenticate(state, req);
  if (!("key" in authed)) return fail(authed);
  let body: unknown;
  try {
    body = JSON.parse((await readBody(req, state.config.maxBodyBytes ?? 16 * 1024 * 1024)).toString("utf8"));
  } catch (err) {
    if (err instanceof BodyTooLarge) return fail({ ...apiError("INVALID_INPUT", "request_too_large", "The request body is too large"), status: 413 });
    return fail(apiError("INVALID_INPUT", "invalid_json", "We could not parse the JSON body of your request"));
  }
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return fail(apiError("INVALID_INPUT", "invalid_json", "The request body must be a JSON object"));
  const translated = messagesToChat({ ...body, max_tokens: 1 });
  if (!("chat" in translated)) return fail(translated);
  const routed = routeRequest(state, authed.key, translated.chat, "chat", Date.now(), fail);
  const candidates = routed instanceof Promise ? await routed : routed;
  if (!candidates) return;
  let tokens: number;
  try {
    tokens = countPrompt("chat", translated.chat, candidates).tokens;
  } catch {
    return fail(apiError("INVALID_INPUT", "invalid_value", "The request body is nested too deeply to read"));
  }
  sendJson(res, 200, JSON.stringify({ input_tokens: tokens }), headers);
}
