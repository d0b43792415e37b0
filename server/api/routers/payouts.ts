import { z } from "zod";
import { listPayables, listPayouts, recordPayout, recordPayoutInput } from "../../finance/payouts";
import { orgProcedure, platformFinanceProcedure, router } from "../trpc";

const page = z.object({
  before: z.uuid("is not a valid cursor").nullish(),
  limit: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").default(50),
});

export const payoutsRouter = router({
  payables: platformFinanceProcedure.query(({ ctx }) => listPayables(ctx.db)),

  record: orgProcedure("payouts.run").input(recordPayoutInput).mutation(({ ctx, input }) => recordPayout(ctx.db, input, ctx.user.id)),

  list: platformFinanceProcedure
    .input(page.extend({ orgId: z.uuid("is not a valid id").nullish() }))
    .query(({ ctx, input }) => listPayouts(ctx.db, { orgId: input.orgId ?? null, before: input.before, limit: input.limit })),

  /** A provider's own payout statement. */
  mine: orgProcedure("payouts.read")
    .input(page)
    .query(({ ctx, input }) => listPayouts(ctx.db, { orgId: ctx.org.id, before: input.before, limit: input.limit })),
});
