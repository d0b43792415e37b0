import { errorTable, type DomainErrorCode } from "../errors";

/**
 * Errors as OpenAI's API shapes them, `{"error":{"message","type","param","code"}}`,
 * with statuses and types from the shared error table (server/errors.ts).
 * `x-should-retry` tells the official clients whether retrying can help: never
 * for 402 (credit does not come back by itself) nor once an upstream has done work.
 */

export type ApiError = {
  status: number;
  message: string;
  type: string;
  code: string | null;
  param?: string | null;
  headers?: Record<string, string>;
};

export function apiError(
  domain: DomainErrorCode,
  code: string,
  message: string,
  extra: { param?: string | null; headers?: Record<string, string>; status?: number } = {},
): ApiError {
  const row = errorTable[domain];
  return { status: extra.status ?? row.http, type: row.openaiType, code, message, param: extra.param ?? null, headers: extra.headers };
}

/** 503: nothing can serve the request now (no provider, backend unreachable, spool full). */
export function unavailable(code: string, message: string): ApiError {
  return { status: 503, type: "api_error", code, message, param: null };
}

export function errorBody(e: ApiError): string {
  return JSON.stringify({ error: { message: e.message, type: e.type, param: e.param ?? null, code: e.code } });
}

/** The SSE event that reports an error after a stream has started (status is already 200). */
export function sseErrorEvent(e: ApiError): string {
  return `data: ${errorBody(e)}\n\n`;
}
