import { auditPageInput, platformAuditInput } from "../../audit/inputs";
import { listAudit } from "../../audit/log";
import { orgProcedure, platformFinanceProcedure, router } from "../trpc";

export const auditRouter = router({
  /** The whole platform's audit log. */
  list: platformFinanceProcedure.input(platformAuditInput).query(({ ctx, input }) => listAudit(ctx.db, { ...input, orgId: input.orgId ?? null })),

  /** The active organisation's own entries. */
  mine: orgProcedure("finance.read")
    .input(auditPageInput)
    .query(({ ctx, input }) => listAudit(ctx.db, { ...input, orgId: ctx.org.id })),
});
