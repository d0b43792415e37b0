import type http from "node:http";
import type { Duplex } from "node:stream";
import type { LogLine } from "../lib/logger";
import type { Dialect } from "./dialects/types";
import { errorBody, type ApiError } from "./openai-errors";

/** Small response helpers shared by the proxy's endpoints. */

/** Browser clients call the proxy directly (their own key in the header), so any origin may. */
export const CORS_HEADERS = {
  "access-control-allow-origin": "*",
  "access-control-expose-headers":
    "x-request-id, retry-after, x-ratelimit-limit-requests, x-ratelimit-remaining-requests, x-ratelimit-reset-requests, x-ratelimit-limit-tokens, x-ratelimit-remaining-tokens, x-ratelimit-reset-tokens",
};

export function preflight(req: http.IncomingMessage, res: http.ServerResponse) {
  res.writeHead(204, {
    ...CORS_HEADERS,
    "access-control-allow-methods": "GET, POST, OPTIONS",
    "access-control-allow-headers": req.headers["access-control-request-headers"] ?? "authorization, content-type",
    "access-control-max-age": "86400",
    "content-length": "0",
  });
  res.end();
}

export function sendJson(res: http.ServerResponse, status: number, body: string | Buffer, headers: Record<string, string> = {}) {
  res.writeHead(status, { ...CORS_HEADERS, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)), ...headers });
  res.end(body);
}

/** An error in OpenAI's envelope, or in the client dialect's when the request came in one. */
export function sendError(res: http.ServerResponse, e: ApiError, headers: Record<string, string> = {}, dialect?: Dialect) {
  // Retrying cannot help a 4xx here, nor a 402 ever; 5xx and 429 are the official clients' to retry.
  const shouldRetry = e.status === 429 || e.status >= 500 ? "true" : "false";
  const shaped = dialect ? dialect.error(e) : { status: e.status, body: errorBody(e), headers: e.headers };
  sendJson(res, shaped.status, shaped.body, { "x-should-retry": shouldRetry, ...headers, ...shaped.headers });
}

/** 500 for a fault of ours; the client gets the request id to quote, the log gets the stack once. */
export function sendInternalError(res: http.ServerResponse, log: LogLine, err: unknown, requestId: string, dialect?: Dialect) {
  log("request failed", { requestId, err });
  if (res.headersSent) return void res.destroy();
  sendError(
    res,
    { status: 500, type: "api_error", code: "internal_error", message: `The proxy failed to handle this request (request id ${requestId})` },
    { "x-request-id": requestId },
    dialect,
  );
}

/**
 * Answers what node's HTTP parser refuses (bad header bytes, oversized headers, garbage)
 * with an OpenAI envelope too, instead of node's bare `400 Bad Request`.
 */
export function answerClientError(err: NodeJS.ErrnoException, socket: Duplex) {
  if (err.code === "ECONNRESET" || !socket.writable) return void socket.destroy();
  const [status, reason, code, message] =
    err.code === "HPE_HEADER_OVERFLOW"
      ? [431, "Request Header Fields Too Large", "headers_too_large", "The request headers are too large"]
      : err.code === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "Request Timeout", "request_timeout", "The request took too long to arrive"]
        : [400, "Bad Request", "malformed_request", "The request is not valid HTTP"];
  const body = errorBody({ status, type: "invalid_request_error", code, message });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export class BodyTooLarge extends Error {}

/** The request body, refusing more than `maxBytes`. */
export function readBody(req: http.IncomingMessage, maxBytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on("data", (c: Buffer) => {
      if (tooLarge) return;
      size += c.length;
      if (size > maxBytes) {
        // Read the rest and drop it, so the client gets its 413 instead of a reset connection.
        tooLarge = true;
        chunks.length = 0;
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(c);
    });
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** The API key of a request: its bearer token, else its `x-api-key` header (Anthropic's clients send that); or null. */
export function apiKey(req: http.IncomingMessage): string | null {
  const token = bearer(req);
  if (token) return token;
  const h = req.headers["x-api-key"];
  const key = typeof h === "string" ? h.trim() : "";
  return key || null;
}

/** The bearer token of a request, or null. */
export function bearer(req: http.IncomingMessage): string | null {
  const h = req.headers.authorization;
  if (!h || h.length < 8 || h.slice(0, 7).toLowerCase() !== "bearer ") return null;
  const token = h.slice(7).trim();
  return token || null;
}
