import { activityPage, activityTotals } from "../../dashboards/activity";
import { buyerEnergy, buyerOverview, buyerSeries, keySpend } from "../../dashboards/buyer";
import { activityInput, activityTotalsInput, overviewInput, periodInput, seriesInput } from "../../dashboards/inputs";
import { providerEarnings, providerPerformance } from "../../dashboards/provider";
import { providerPayouts } from "../../dashboards/provider-payouts";
import { orgProcedure, router } from "../trpc";

/**
 * The active organisation's own figures: as a buyer (usage, spend, energy, keys) and as a
 * provider (earnings, measured performance, payouts). Any member may look, finance included.
 */
export const dashboardsRouter = router({
  overview: orgProcedure()
    .input(overviewInput)
    .query(({ ctx, input }) => buyerOverview(ctx.db, { ...input, orgId: ctx.org.id })),
  series: orgProcedure()
    .input(seriesInput)
    .query(({ ctx, input }) => buyerSeries(ctx.db, { ...input, orgId: ctx.org.id })),
  activity: orgProcedure()
    .input(activityInput)
    .query(({ ctx, input }) => activityPage(ctx.db, { ...input, orgId: ctx.org.id })),
  activityTotals: orgProcedure()
    .input(activityTotalsInput)
    .query(({ ctx, input }) => activityTotals(ctx.db, { orgId: ctx.org.id, filter: input.filter })),
  energy: orgProcedure()
    .input(periodInput)
    .query(({ ctx, input }) => buyerEnergy(ctx.db, { ...input, orgId: ctx.org.id })),
  keySpend: orgProcedure().query(({ ctx }) => keySpend(ctx.db, { orgId: ctx.org.id })),
  earnings: orgProcedure()
    .input(periodInput)
    .query(({ ctx, input }) => providerEarnings(ctx.db, { ...input, orgId: ctx.org.id })),
  performance: orgProcedure()
    .input(periodInput)
    .query(({ ctx, input }) => providerPerformance(ctx.db, { ...input, orgId: ctx.org.id })),
  payouts: orgProcedure().query(({ ctx }) => providerPayouts(ctx.db, { orgId: ctx.org.id })),
});
