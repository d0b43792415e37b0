import { errorBody } from "../../openai-errors";
import type { Dialect } from "../types";
import { responseFromChat } from "./answer";
import { parseResponsesRequest, type ResponsesCtx } from "./request";
import { ResponsesStream } from "./stream";

/** OpenAI's Responses API (POST /v1/responses) over an upstream's Chat Completions; errors in OpenAI's own shape. */
export const responses: Dialect<ResponsesCtx> = {
  path: "/v1/responses",
  label: "responses",
  parse: parseResponsesRequest,
  toJson: responseFromChat,
  stream: (ctx, meta) => new ResponsesStream(ctx, meta),
  error: (e) => ({ status: e.status, headers: e.headers, body: errorBody(e) }),
};
