import { TRPCError } from "@trpc/server";
import { payoutStatement, providerEarnings } from "../../payouts/earnings";
import { payoutIdInput, previewPayoutsInput, runPayoutsInput } from "../../payouts/inputs";
import { completeLocalOnboarding, connectApiFor } from "../../payouts/local-connect";
import { connectOnboardingLink, connectStatus, previewRun, runPayouts } from "../../payouts/service";
import { orgProcedure, platformFinanceProcedure, router, type Context } from "../trpc";

function runtime(ctx: Context) {
  if (!ctx.payments) throw new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "payments are not configured" });
  return { ...ctx.payments, api: connectApiFor(ctx.payments.payments, ctx.payments.deliver) };
}

/** Stripe Connect: a provider's onboarding and earnings; finance's payout runs. */
export const connectRouter = router({
  status: orgProcedure("payouts.read").query(({ ctx }) => connectStatus(ctx.db, { orgId: ctx.org.id })),

  onboardingLink: orgProcedure("payouts.connect").mutation(({ ctx }) => {
    const rt = runtime(ctx);
    return connectOnboardingLink(ctx.db, { api: rt.api, orgId: ctx.org.id, appUrl: rt.appUrl, local: rt.payments.mode === "local" });
  }),

  /** The local stand-in's onboarding form (no Stripe keys): reports the account as onboarded, by webhook. */
  completeLocalOnboarding: orgProcedure("payouts.connect").mutation(async ({ ctx }) => {
    const rt = runtime(ctx);
    const status = await connectStatus(ctx.db, { orgId: ctx.org.id });
    if (!status) throw new TRPCError({ code: "NOT_FOUND", message: "Start onboarding first" });
    await completeLocalOnboarding(rt.payments, status.accountId, rt.deliver);
    return connectStatus(ctx.db, { orgId: ctx.org.id });
  }),

  earnings: orgProcedure("payouts.read").query(({ ctx }) => providerEarnings(ctx.db, { orgId: ctx.org.id })),

  statement: orgProcedure("payouts.read")
    .input(payoutIdInput)
    .query(({ ctx, input }) => payoutStatement(ctx.db, { orgId: ctx.org.id, payoutId: input.payoutId })),

  preview: platformFinanceProcedure
    .input(previewPayoutsInput)
    .query(({ ctx, input }) => previewRun(ctx.db, { minimumCents: runtime(ctx).payoutMinimumCents, orgIds: input.orgId ? [input.orgId] : null })),

  run: orgProcedure("payouts.run")
    .input(runPayoutsInput)
    .mutation(({ ctx, input }) => {
      const rt = runtime(ctx);
      return runPayouts(ctx.db, {
        api: rt.api,
        runId: input.runId,
        orgIds: input.orgId ? [input.orgId] : null,
        minimumCents: rt.payoutMinimumCents,
        userId: ctx.user.id,
      });
    }),
});
