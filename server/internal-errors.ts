import { randomUUID } from "node:crypto";
import { processLogger } from "./lib/logger";

// Apart from errors.ts, which client components reach (DomainError): this one logs, and the logger is Node's.

/**
 * What a client learns of an unexpected error: a generic message carrying a request id;
 * the error itself (a database error's SQL text and parameters included) goes to the log
 * under that id. Database texts name tables, columns and other people's values.
 */
export function reportInternalError(err: unknown, where: string): { requestId: string; message: string } {
  const requestId = randomUUID();
  processLogger().error({ requestId, where, err }, "internal error");
  return { requestId, message: `Something went wrong on our side. If it persists, quote request ${requestId}.` };
}

/** Wraps a route handler so an unexpected error answers 500 with reportInternalError's message, never the error's text. */
export function guardedRoute<A extends unknown[]>(where: string, handler: (...args: A) => Promise<Response>): (...args: A) => Promise<Response> {
  return async (...args) => {
    try {
      return await handler(...args);
    } catch (err) {
      const { requestId, message } = reportInternalError(err, where);
      return Response.json({ error: message, requestId }, { status: 500 });
    }
  };
}
