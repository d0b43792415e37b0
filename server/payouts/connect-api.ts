import type Stripe from "stripe";

/**
 * What payouts ask of Stripe Connect. Stripe mode calls the API through the SDK; local mode
 * (no Stripe keys) answers with ids shaped like Stripe's and delivers the events Stripe
 * would send, signed, through the webhook: the same services and handlers run in both.
 */
export type ConnectApi = {
  /** A new Express account for the organisation (idempotent per organisation). */
  createAccount(orgId: string): Promise<string>;
  /** A single-use onboarding URL. */
  onboardingLink(accountId: string, urls: { returnUrl: string; refreshUrl: string }): Promise<string>;
  /** The transfer made for a payout, if any (looked up by transfer group = payout id). */
  findTransfer(payoutId: string): Promise<string | null>;
  /** A Transfer to the connected account; idempotency key = payout id. */
  createTransfer(p: { payoutId: string; accountId: string; amountCents: number }): Promise<string>;
  /** Every transfer created in [from, to), for reconciliation. */
  /** Stripe's transfers created in the range; amounts in cents as bigint (Stripe's integers, kept exact). */
  listTransfers(range: { from: Date; to: Date }): Promise<{ id: string; payoutId: string | null; amountCents: bigint; reversedCents: bigint }[]>;
};

export function stripeConnectApi(stripe: Stripe): ConnectApi {
  return {
    async createAccount(orgId) {
      const account = await stripe.accounts.create(
        {
          controller: { stripe_dashboard: { type: "express" }, fees: { payer: "application" }, losses: { payments: "application" } },
          capabilities: { transfers: { requested: true } },
          metadata: { org_id: orgId },
        },
        { idempotencyKey: `connect-account-${orgId}` },
      );
      return account.id;
    },
    async onboardingLink(accountId, urls) {
      const link = await stripe.accountLinks.create({
        account: accountId,
        type: "account_onboarding",
        return_url: urls.returnUrl,
        refresh_url: urls.refreshUrl,
      });
      return link.url;
    },
    async findTransfer(payoutId) {
      const page = await stripe.transfers.list({ transfer_group: payoutId, limit: 1 });
      return page.data[0]?.id ?? null;
    },
    async createTransfer(p) {
      const transfer = await stripe.transfers.create(
        { amount: p.amountCents, currency: "usd", destination: p.accountId, transfer_group: p.payoutId, metadata: { payout_id: p.payoutId } },
        { idempotencyKey: p.payoutId },
      );
      return transfer.id;
    },
    async listTransfers(range) {
      const out = [];
      const created = { gte: Math.floor(range.from.getTime() / 1000), lt: Math.ceil(range.to.getTime() / 1000) };
      for await (const t of stripe.transfers.list({ created, limit: 100 })) {
        out.push({ id: t.id, payoutId: t.metadata?.payout_id ?? null, amountCents: BigInt(t.amount), reversedCents: BigInt(t.amount_reversed) });
      }
      return out;
    },
  };
}
