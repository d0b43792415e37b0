import { initTRPC, TRPCError } from "@trpc/server";
import superjson from "superjson";
import { ZodError } from "zod";
import type { Db } from "../../db/client";
import { DomainError, errorTable } from "../errors";
import { reportInternalError } from "../internal-errors";
import type { ServiceIdentity } from "../auth/service-tokens";
import type { Deliver, TopUpLimits } from "../payments/checkout";
import type { Payments } from "../payments/config";
import type { Action } from "../auth/permissions";
import { requirePermission } from "../orgs/access";

export type SessionUser = { id: string; email: string; name?: string | null };

export type Context = {
  db: Db;
  user: SessionUser | null;
  /** Bearer token presented by a proxy or another service, if any. */
  serviceToken: string | null;
  /** Resolves a presented service token to who it speaks for (configured tokens). */
  matchServiceToken?: (token: string | null) => ServiceIdentity | null;
  /** The caller's address as a trusted proxy gave it (TRUSTED_PROXY_HOPS); null when unknown. */
  clientIp?: string | null;
  /**
   * How `usage.report` settles: "windowed" leaves accepted batches to the worker's settler
   * (the web app); "inline" (the default, for callers with no settler beside them) settles
   * each batch before answering.
   */
  usageSettlement?: "inline" | "windowed";
  /** Payments wiring (Stripe or local checkout); tests supply their own. */
  payments?: PaymentsRuntime;
};

export type PaymentsRuntime = {
  payments: Payments;
  deliver: Deliver;
  appUrl: string;
  limits: TopUpLimits;
  lowBalanceDefaultCents: number;
  payoutMinimumCents: number;
};

/** "field.path: message; other: message" from a zod error. */
function describeZod(error: ZodError): string {
  return error.issues.map((i) => (i.path.length ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

const t = initTRPC.context<Context>().create({
  transformer: superjson,
  errorFormatter({ shape, error, path }) {
    if (error.code === "INTERNAL_SERVER_ERROR") {
      // Everything unexpected (a failed query, a broken output schema) reaches the client as a generic message.
      const { requestId, message } = reportInternalError(error.cause ?? error, `trpc ${path ?? "?"}`);
      return { ...shape, message, data: { ...shape.data, requestId, domainCode: null, fieldErrors: {}, stack: undefined } };
    }
    const zod = error.cause instanceof ZodError ? error.cause : null;
    const domain = error.cause instanceof DomainError ? error.cause : null;
    const fieldErrors: Record<string, string[]> = {};
    for (const issue of zod?.issues ?? []) (fieldErrors[issue.path.join(".") || "_"] ??= []).push(issue.message);
    if (domain?.field) fieldErrors[domain.field] = [domain.message];
    return {
      ...shape,
      message: zod ? describeZod(zod) : shape.message,
      data: { ...shape.data, domainCode: domain?.code ?? null, fieldErrors, stack: undefined },
    };
  },
});

export const createCallerFactory = t.createCallerFactory;
export const router = t.router;

/** Turns DomainErrors into TRPCErrors with the mapped code; everything else passes through. */
const domainErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof DomainError) {
    const cause = result.error.cause;
    throw new TRPCError({ code: errorTable[cause.code].trpc, message: cause.message, cause });
  }
  return result;
});

export const publicProcedure = t.procedure.use(domainErrors);

export const authedProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.user) throw new TRPCError({ code: "UNAUTHORIZED", message: "Sign in first" });
  return next({ ctx: { ...ctx, user: ctx.user } });
});

/**
 * A procedure acting in the caller's active organisation, allowed to the roles the permission
 * table (server/auth/permissions.ts) grants the action (any member when none is given).
 * Puts `ctx.org` in the context.
 */
export function orgProcedure(action?: Action) {
  return authedProcedure.use(async ({ ctx, next }) => {
    const org = await requirePermission(ctx.db, { userId: ctx.user.id, action });
    return next({ ctx: { ...ctx, org } });
  });
}

/** Finance members of the platform organisation: the whole platform's books. */
export const platformFinanceProcedure = orgProcedure("books.read");

/**
 * Called by proxies and workers with `Authorization: Bearer <service token>`.
 * Puts `ctx.service` (platform, or one provider organisation) in the context.
 */
export const serviceProcedure = publicProcedure.use(({ ctx, next }) => {
  const service = ctx.matchServiceToken?.(ctx.serviceToken) ?? null;
  if (!service) throw new TRPCError({ code: "UNAUTHORIZED", message: "A valid service token is required" });
  return next({ ctx: { ...ctx, service } });
});
