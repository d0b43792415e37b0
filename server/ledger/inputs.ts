import { z } from "zod";

/** What the ledger procedures accept. */

export const trialBalanceInput = z.object({ at: z.coerce.date({ message: "must be a date" }).optional() }).optional();

export const statementInput = z.object({
  accountId: z.uuid("is not a valid account id"),
  after: z.uuid("is not a valid cursor").nullish(),
  limit: z.number().int().min(1, "must be at least 1").max(1000, "must be at most 1000").default(100),
});
