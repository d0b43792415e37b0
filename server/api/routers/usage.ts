import { env } from "../../env";
import { generationInput, generationOutput, reportInput, reportOutput } from "../../usage/contract";
import { getGeneration } from "../../usage/generation";
import { reportUsage } from "../../usage/settlement";
import { router, serviceProcedure } from "../trpc";

export const usageRouter = router({
  /**
   * Proxies report finished requests in batches; each event is settled into the ledger
   * exactly once. Invalid events are answered one by one with a reason; the rest proceed.
   */
  report: serviceProcedure
    .input(reportInput)
    .output(reportOutput)
    .mutation(async ({ ctx, input }) => ({
      results: await reportUsage(ctx.db, input.events, { service: ctx.service, defaultFeeBps: env().PLATFORM_FEE_BPS }),
    })),

  /** One settled request, for `GET /v1/generation?id=` on the proxy; null unless the key's organisation made it. */
  generation: serviceProcedure
    .input(generationInput)
    .output(generationOutput)
    .query(({ ctx, input }) => getGeneration(ctx.db, input, ctx.service)),
});
