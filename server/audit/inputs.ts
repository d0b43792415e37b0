import { z } from "zod";
import { auditActions } from "./log";

/** A page of the audit log: newest first, `before` the last entry's id of the previous page. */
export const auditPageInput = z.object({
  action: z.enum(auditActions).nullish(),
  before: z.uuid("is not a valid cursor").nullish(),
  limit: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").default(50),
});

/** Platform finance may narrow the whole log to one organisation. */
export const platformAuditInput = auditPageInput.extend({ orgId: z.uuid("is not a valid id").nullish() });
