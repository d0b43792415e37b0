import { z } from "zod";
import { auditActions, listAudit } from "../../audit/log";
import { orgProcedure, platformFinanceProcedure, router } from "../trpc";

const page = z.object({
  action: z.enum(auditActions).nullish(),
  before: z.uuid("is not a valid cursor").nullish(),
  limit: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").default(50),
});

export const auditRouter = router({
  /** The whole platform's audit log. */
  list: platformFinanceProcedure
    .input(page.extend({ orgId: z.uuid("is not a valid id").nullish() }))
    .query(({ ctx, input }) => listAudit(ctx.db, { ...input, orgId: input.orgId ?? null })),

  /** The active organisation's own entries. */
  mine: orgProcedure("finance.read")
    .input(page)
    .query(({ ctx, input }) => listAudit(ctx.db, { ...input, orgId: ctx.org.id })),
});
