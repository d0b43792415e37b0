import { TRPCError } from "@trpc/server";
import { checkoutExpiresAt, isResumable } from "../../credits/checkout-expiry";
import { createTopUpInput, lowBalanceInput, payLocallyInput, topupIdInput } from "../../credits/inputs";
import { orgCreditBalance } from "../../credits/postings";
import { lowBalanceThresholdNano, setLowBalanceThreshold } from "../../credits/service";
import { getTopUp, listTopUps } from "../../credits/store";
import { can, roleOf } from "../../auth/permissions";
import { cancelTopUp, createTopUp, payLocally } from "../../payments/checkout";
import { DomainError } from "../../errors";
import { orgProcedure, router, type Context } from "../trpc";

function runtime(ctx: Context) {
  if (!ctx.payments)
    throw new TRPCError({ code: "PRECONDITION_FAILED", message: "Top-ups are not available: the platform has no payment provider configured" });
  return ctx.payments;
}

export const creditsRouter = router({
  /** Balance, holds and the low-balance state of the active organisation. */
  balance: orgProcedure().query(async ({ ctx }) => {
    // The balance is the ledger's: it reads the same with payments off (production without a
    // payment provider), only top-ups are not offered then.
    const rt = ctx.payments;
    const balance = await orgCreditBalance(ctx.db, { orgId: ctx.org.id });
    const lowThresholdNano = await lowBalanceThresholdNano(ctx.db, { orgId: ctx.org.id, defaultCents: rt?.lowBalanceDefaultCents ?? 0 });
    const mayTopUp = can(roleOf(ctx.org), "credits.topUp");
    return {
      ...balance,
      lowThresholdNano,
      low: balance.availableNano < lowThresholdNano,
      blocked: balance.availableNano < 0n,
      paymentsMode: rt ? rt.payments.mode : ("off" as const),
      limits: rt?.limits ?? null,
      canTopUp: rt !== undefined && mayTopUp,
      topUpsOff: rt === undefined && mayTopUp,
    };
  }),

  /** Newest first; an open one says until when it can be resumed (checkoutUrl) or cancelled. */
  topups: orgProcedure().query(async ({ ctx }) => {
    const now = new Date();
    return (await listTopUps(ctx.db, { orgId: ctx.org.id })).map((t) => ({ ...t, expiresAt: checkoutExpiresAt(t.createdAt), resumable: isResumable(t, now) }));
  }),

  topup: orgProcedure()
    .input(topupIdInput)
    .query(async ({ ctx, input }) => {
      const topup = await getTopUp(ctx.db, { orgId: ctx.org.id, topupId: input.topupId });
      if (!topup) throw new DomainError("NOT_FOUND", "Top-up not found", "topupId");
      const checkout = { expiresAt: checkoutExpiresAt(topup.createdAt), resumable: isResumable(topup, new Date()) };
      return { ...topup, ...checkout, orgName: ctx.org.name, paymentsMode: runtime(ctx).payments.mode };
    }),

  createTopUp: orgProcedure("credits.topUp")
    .input(createTopUpInput)
    .mutation(({ ctx, input }) => {
      const rt = runtime(ctx);
      return createTopUp(ctx.db, {
        payments: rt.payments,
        orgId: ctx.org.id,
        userId: ctx.user.id,
        amountUsd: input.amountUsd,
        limits: rt.limits,
        appUrl: rt.appUrl,
      });
    }),

  payLocally: orgProcedure("credits.topUp")
    .input(payLocallyInput)
    .mutation(({ ctx, input }) => {
      const rt = runtime(ctx);
      return payLocally(ctx.db, { payments: rt.payments, deliver: rt.deliver, orgId: ctx.org.id, topupId: input.topupId, outcome: input.outcome });
    }),

  cancelTopUp: orgProcedure("credits.topUp")
    .input(topupIdInput)
    .mutation(({ ctx, input }) => cancelTopUp(ctx.db, { payments: runtime(ctx).payments, orgId: ctx.org.id, topupId: input.topupId })),

  setLowBalanceThreshold: orgProcedure("credits.topUp")
    .input(lowBalanceInput)
    .mutation(({ ctx, input }) => setLowBalanceThreshold(ctx.db, { orgId: ctx.org.id, thresholdUsd: input.thresholdUsd })),
});
