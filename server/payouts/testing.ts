import type Stripe from "stripe";
import { expect } from "vitest";
import type { Db } from "../../db/client";
import { orgAccountSums } from "../ledger/reports";
import { signPayload } from "../payments/local-checkout";
import { receiveWebhook } from "../payments/webhook";
import type { StripeStandIn } from "../testing/stripe-standin";
import { reportUsage } from "../usage/settlement";
import { makeBuyer, makeEvent, makeListing, makeProvider } from "../usage/testing";
import { stripeConnectApi } from "./connect-api";
import { localConnectEvent } from "./local-connect";
import { connectOnboardingLink, connectStatus } from "./service";

/** Fixtures for payout tests: providers with exact funded earnings, onboarded against the Stripe stand-in. */

export const usd = (d: number) => BigInt(Math.round(d * 100)) * 10_000_000n;

export function payoutFixtures(db: Db, stripe: StripeStandIn, secret: string) {
  const api = () => stripeConnectApi(stripe.payments.stripe);
  const send = (event: object) => {
    const payload = JSON.stringify(event);
    return receiveWebhook(db, { payments: stripe.payments, rawBody: payload, signature: signPayload(stripe.payments.stripe, payload, secret) });
  };
  /** A provider with exactly `dollars` of funded earnings: usage by a buyer with the credit for it, no fee. */
  async function providerEarning(dollars: number) {
    const provider = await makeProvider(db);
    const listing = await makeListing(db, provider, [{ inputPer1kNano: usd(1), outputPer1kNano: 0n, cachedInputPer1kNano: 0n, effectiveFrom: new Date(0) }]);
    const buyer = await makeBuyer(db, { creditNano: usd(1000) });
    const [r] = await reportUsage(db, {
      events: [makeEvent({ keyId: buyer.keyIds[0]!, listingId: listing.id, inputTokens: dollars * 1000, outputTokens: 0 })],
      service: { kind: "platform" },
      defaultFeeBps: 0,
      settle: "inline",
    });
    expect(r!.status).toBe("settled");
    return provider.id;
  }
  const accountEvent = (accountId: string, enabled: boolean, created: number) =>
    ({
      ...localConnectEvent("account.updated", { id: accountId, object: "account", details_submitted: enabled, payouts_enabled: enabled }, accountId, [
        accountId,
        String(created),
      ]),
      created,
    }) as Stripe.Event;
  async function onboard(orgId: string) {
    await connectOnboardingLink(db, { api: api(), orgId, appUrl: "http://app.test", local: false });
    const status = await connectStatus(db, { orgId });
    expect((await send(accountEvent(status!.accountId, true, Math.floor(Date.now() / 1000)))).status).toBe(200);
    return status!.accountId;
  }
  const funded = async (orgId: string) => {
    const [payable] = await orgAccountSums(db, { orgId, kinds: ["provider_payable"] });
    return payable!.creditsPosted - payable!.debitsPosted;
  };
  return { api, send, providerEarning, accountEvent, onboard, funded };
}
