import { releaseInput, releaseOutput, reserveInput, reserveOutput } from "../../usage/contract";
import { release, reserve } from "../../usage/reservations";
import { router, serviceProcedure } from "../trpc";

export const reservationsRouter = router({
  /** Holds part of the key's organisation's credit before a proxy serves requests; may grant less than asked, or 0. A provider's token: only for its own listings. */
  reserve: serviceProcedure
    .input(reserveInput)
    .output(reserveOutput)
    .mutation(({ ctx, input }) => reserve(ctx.db, { ...input, service: ctx.service })),

  /** Returns what a reservation still holds (all of it, or `amountNano`) to the balance. */
  release: serviceProcedure
    .input(releaseInput)
    .output(releaseOutput)
    .mutation(({ ctx, input }) => release(ctx.db, { ...input, service: ctx.service })),
});
