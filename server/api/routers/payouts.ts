import { listPayables, listPayouts, recordPayout } from "../../finance/payouts";
import { listPayoutsInput, myPayoutsInput, recordPayoutInput } from "../../finance/inputs";
import { orgProcedure, platformFinanceProcedure, router } from "../trpc";

export const payoutsRouter = router({
  payables: platformFinanceProcedure.query(({ ctx }) => listPayables(ctx.db)),

  record: orgProcedure("payouts.run")
    .input(recordPayoutInput)
    .mutation(({ ctx, input }) => recordPayout(ctx.db, { ...input, actorUserId: ctx.user.id })),

  list: platformFinanceProcedure
    .input(listPayoutsInput)
    .query(({ ctx, input }) => listPayouts(ctx.db, { orgId: input.orgId ?? null, before: input.before, limit: input.limit })),

  /** A provider's own payout statement. */
  mine: orgProcedure("payouts.read")
    .input(myPayoutsInput)
    .query(({ ctx, input }) => listPayouts(ctx.db, { orgId: ctx.org.id, before: input.before, limit: input.limit })),
});
