import { z } from "zod";
import {
  activityFilter,
  activityInput,
  activityPage,
  activityTotals,
  buyerEnergy,
  buyerOverview,
  buyerSeries,
  keySpend,
  overviewInput,
  periodInput,
  providerEarnings,
  providerPayouts,
  providerPerformance,
  seriesInput,
} from "../../dashboards/service";
import { orgProcedure, router } from "../trpc";

/**
 * The active organisation's own figures: as a buyer (usage, spend, energy, keys) and as a
 * provider (earnings, measured performance, payouts). Any member may look, finance included.
 */
export const dashboardsRouter = router({
  overview: orgProcedure()
    .input(overviewInput)
    .query(({ ctx, input }) => buyerOverview(ctx.db, ctx.org.id, input)),
  series: orgProcedure()
    .input(seriesInput)
    .query(({ ctx, input }) => buyerSeries(ctx.db, ctx.org.id, input)),
  activity: orgProcedure()
    .input(activityInput)
    .query(({ ctx, input }) => activityPage(ctx.db, ctx.org.id, input)),
  activityTotals: orgProcedure()
    .input(z.object({ filter: activityFilter.default({}) }))
    .query(({ ctx, input }) => activityTotals(ctx.db, ctx.org.id, input.filter)),
  energy: orgProcedure()
    .input(periodInput)
    .query(({ ctx, input }) => buyerEnergy(ctx.db, ctx.org.id, input)),
  keySpend: orgProcedure().query(({ ctx }) => keySpend(ctx.db, ctx.org.id)),
  earnings: orgProcedure()
    .input(periodInput)
    .query(({ ctx, input }) => providerEarnings(ctx.db, ctx.org.id, input)),
  performance: orgProcedure()
    .input(periodInput)
    .query(({ ctx, input }) => providerPerformance(ctx.db, ctx.org.id, input)),
  payouts: orgProcedure().query(({ ctx }) => providerPayouts(ctx.db, ctx.org.id)),
});
