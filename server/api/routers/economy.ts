import { z } from "zod";
import { cputOutput } from "../../economy/figures";
import { cputWindowInput, statementMonthInput } from "../../economy/inputs";
import { energyStatement } from "../../economy/statement";
import { buyerCputByListing, providerCputByListing } from "../../economy/store";
import { parseMonth } from "../../finance/period";
import { orgProcedure, router } from "../trpc";

const statementLine = z.object({
  listingSlug: z.string(),
  keyName: z.string(),
  basis: z.enum(["measured", "declared"]),
  tokens: z.number(),
  wh: z.number().nullable(),
  gCo2: z.number().nullable(),
  gridGPerKwh: z.number().nullable(),
});

/** The active organisation's token-economy figures: as a buyer (CPUT by model, energy statement) and as a provider (CPUT of its listings). */
export const economyRouter = router({
  buyerCput: orgProcedure()
    .input(cputWindowInput)
    .output(z.array(z.object({ listingId: z.string(), slug: z.string(), costNano: z.bigint(), cput: cputOutput })))
    .query(({ ctx, input }) => buyerCputByListing(ctx.db, { orgId: ctx.org.id, window: input.window })),
  providerCput: orgProcedure()
    .input(cputWindowInput)
    .output(z.array(z.object({ listingId: z.string(), slug: z.string(), nominalPer1MNano: z.bigint().nullable(), cput: cputOutput })))
    .query(({ ctx, input }) => providerCputByListing(ctx.db, { orgId: ctx.org.id, window: input.window })),
  energyStatement: orgProcedure()
    .input(statementMonthInput)
    .output(z.object({ month: z.string(), lines: z.array(statementLine), totalWh: z.number(), totalGCo2: z.number(), unknownTokens: z.number() }))
    .query(({ ctx, input }) => energyStatement(ctx.db, { orgId: ctx.org.id, month: parseMonth(input.month) })),
});
