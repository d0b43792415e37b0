import { energyReportInput, energyReportOutput } from "../../contract/energy";
import { reportEnergy } from "../../usage/energy-report";
import { router, serviceProcedure } from "../trpc";

export const energyRouter = router({
  /** A provider's hourly meter reading for one of its listings; idempotent per (listing, hour), a different resend is a CONFLICT. */
  report: serviceProcedure
    .input(energyReportInput)
    .output(energyReportOutput)
    .mutation(({ ctx, input }) => reportEnergy(ctx.db, { service: ctx.service, ...input })),
});
