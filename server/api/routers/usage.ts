import { generationInput, generationOutput, reportInput, reportOutput } from "../../usage/contract";
import { getGeneration } from "../../usage/generation";
import { reportOptions, reportUsage } from "../../usage/settlement";
import { router, serviceProcedure } from "../trpc";

export const usageRouter = router({
  /**
   * Proxies report finished requests in batches; each event is billed exactly once (and in
   * the ledger once the settler's window takes it). Invalid events are answered one by one
   * with a reason; the rest proceed. The proxy itself posts to the lean path
   * (app/api/usage/ingest), which answers the same.
   */
  report: serviceProcedure
    .input(reportInput)
    .output(reportOutput)
    .mutation(async ({ ctx, input }) => ({
      results: await reportUsage(ctx.db, { events: input.events, ...reportOptions(ctx.service, ctx.usageSettlement) }),
    })),

  /** One settled request, for `GET /v1/generation?id=` on the proxy; null unless the key's organisation made it. */
  generation: serviceProcedure
    .input(generationInput)
    .output(generationOutput)
    .query(({ ctx, input }) => getGeneration(ctx.db, { service: ctx.service, ...input })),
});
