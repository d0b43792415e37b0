import type Stripe from "stripe";
import { DomainError } from "../errors";
import type { Payments } from "../payments/config";
import { localEvent, signPayload } from "../payments/local-checkout";
import { stripeConnectApi, type ConnectApi } from "./connect-api";

/** Delivers a signed event to the webhook endpoint (over HTTP in the app; directly in tests). */
export type Deliver = (payload: string, signature: string) => Promise<{ status: number }>;

const hex = (uuid: string) => uuid.replace(/-/g, "");

/** Ids the local stand-in gives Connect objects, shaped like Stripe's and derived from ours (so a retry meets the same object). */
export const localConnectIds = {
  account: (orgId: string) => `acct_local_${hex(orgId)}`,
  transfer: (payoutId: string) => `tr_local_${hex(payoutId)}`,
  payout: (payoutId: string) => `po_local_${hex(payoutId)}`,
};

/** A Connect event in Stripe's JSON shape; `account` set for events of a connected account. */
export function localConnectEvent(type: string, object: Record<string, unknown>, account: string | null, idParts: string[], now = new Date()): Stripe.Event {
  return localEvent(type, object, idParts, now, account);
}

export const localTransferObject = (p: { payoutId: string; accountId: string; amountCents: number; reversedCents?: number }) => ({
  id: localConnectIds.transfer(p.payoutId),
  object: "transfer",
  amount: p.amountCents,
  amount_reversed: p.reversedCents ?? 0,
  currency: "usd",
  destination: p.accountId,
  transfer_group: p.payoutId,
  metadata: { payout_id: p.payoutId },
  reversed: (p.reversedCents ?? 0) >= p.amountCents,
});

export const localPayoutObject = (p: { payoutId: string; amountCents: number; status: "paid" | "failed" }) => ({
  id: localConnectIds.payout(p.payoutId),
  object: "payout",
  amount: p.amountCents,
  currency: "usd",
  status: p.status,
  metadata: { payout_id: p.payoutId },
  ...(p.status === "failed" ? { failure_code: "account_closed", failure_message: "The bank account has been closed" } : {}),
});

/**
 * The stand-in for Stripe Connect without Stripe keys: onboarding is a local page, and a
 * transfer "happens" by delivering the events Stripe would send (transfer.created, then the
 * connected account's payout.paid), signed with the local secret, through the webhook.
 */
export function localConnectApi(payments: Payments, deliver: Deliver): ConnectApi {
  const send = async (event: Stripe.Event) => {
    const payload = JSON.stringify(event);
    const res = await deliver(payload, signPayload(payments.stripe, payload, payments.webhookSecret));
    if (res.status !== 200) throw new DomainError("UPSTREAM_FAILED", `The webhook endpoint answered ${res.status}`);
  };
  return {
    async createAccount(orgId) {
      return localConnectIds.account(orgId);
    },
    async onboardingLink() {
      return "/earnings/connect";
    },
    async findTransfer() {
      // The local transfer id is derived from the payout id: creating it again is the lookup.
      return null;
    },
    async createTransfer(p) {
      const transfer = localTransferObject(p);
      await send(localConnectEvent("transfer.created", transfer, null, [p.payoutId]));
      await send(
        localConnectEvent("payout.paid", localPayoutObject({ payoutId: p.payoutId, amountCents: p.amountCents, status: "paid" }), p.accountId, [p.payoutId]),
      );
      return transfer.id;
    },
    async listTransfers() {
      throw new DomainError("FORBIDDEN", "The local stand-in keeps no transfer list: reconciliation reads its signed events");
    },
  };
}

/** The local onboarding page's "submit": the account.updated Stripe would send once the owner finished. */
export async function completeLocalOnboarding(payments: Payments, accountId: string, deliver: Deliver): Promise<void> {
  if (payments.mode !== "local") throw new DomainError("FORBIDDEN", "Local onboarding is off: this platform pays through Stripe");
  const event = localConnectEvent(
    "account.updated",
    { id: accountId, object: "account", details_submitted: true, payouts_enabled: true, charges_enabled: false },
    accountId,
    [accountId, "onboarded"],
  );
  const payload = JSON.stringify(event);
  const res = await deliver(payload, signPayload(payments.stripe, payload, payments.webhookSecret));
  if (res.status !== 200) throw new DomainError("UPSTREAM_FAILED", `The webhook endpoint answered ${res.status}`);
}

/** Stripe's Connect API in Stripe mode; this stand-in without Stripe keys. */
export function connectApiFor(payments: Payments, deliver: Deliver): ConnectApi {
  return payments.mode === "stripe" ? stripeConnectApi(payments.stripe) : localConnectApi(payments, deliver);
}
