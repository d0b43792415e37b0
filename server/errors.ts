/** The one error type domain code throws. Mapped to tRPC and HTTP in one table below. */
export type DomainErrorCode =
  | "INVALID_INPUT"
  | "UNAUTHENTICATED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "INSUFFICIENT_CREDIT"
  | "LIMIT_EXCEEDED"
  | "RATE_LIMITED"
  | "PERIOD_CLOSED"
  | "UPSTREAM_FAILED"
  | "BUSY";

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    /** The input field the error is about, when there is one. */
    readonly field?: string,
  ) {
    super(message);
    this.name = "DomainError";
  }
}

type TrpcCode =
  | "BAD_REQUEST"
  | "UNAUTHORIZED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "CONFLICT"
  | "PAYMENT_REQUIRED"
  | "TOO_MANY_REQUESTS"
  | "PRECONDITION_FAILED"
  | "BAD_GATEWAY"
  | "SERVICE_UNAVAILABLE";

export const errorTable: Record<DomainErrorCode, { trpc: TrpcCode; http: number; openaiType: string }> = {
  INVALID_INPUT: { trpc: "BAD_REQUEST", http: 400, openaiType: "invalid_request_error" },
  UNAUTHENTICATED: { trpc: "UNAUTHORIZED", http: 401, openaiType: "authentication_error" },
  FORBIDDEN: { trpc: "FORBIDDEN", http: 403, openaiType: "permission_error" },
  NOT_FOUND: { trpc: "NOT_FOUND", http: 404, openaiType: "not_found_error" },
  CONFLICT: { trpc: "CONFLICT", http: 409, openaiType: "invalid_request_error" },
  INSUFFICIENT_CREDIT: { trpc: "PAYMENT_REQUIRED", http: 402, openaiType: "insufficient_quota" },
  LIMIT_EXCEEDED: { trpc: "PAYMENT_REQUIRED", http: 402, openaiType: "insufficient_quota" },
  RATE_LIMITED: { trpc: "TOO_MANY_REQUESTS", http: 429, openaiType: "rate_limit_error" },
  PERIOD_CLOSED: { trpc: "PRECONDITION_FAILED", http: 412, openaiType: "invalid_request_error" },
  UPSTREAM_FAILED: { trpc: "BAD_GATEWAY", http: 502, openaiType: "api_error" },
  /** Backpressure: try again shortly (usage reports past the settlement backlog). */
  BUSY: { trpc: "SERVICE_UNAVAILABLE", http: 503, openaiType: "api_error" },
};
