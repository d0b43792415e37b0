import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { payoutsReport } from "../finance/reconcile";
import { uuidv7 } from "../lib/ids";
import { createTestDb, type TestDb } from "../testing/db";
import { startStripeStandIn, type StripeStandIn } from "../testing/stripe-standin";
import { localConnectEvent, localPayoutObject } from "./local-connect";
import { runPayouts } from "./service";
import { payoutFixtures, usd } from "./testing";

const SECRET = "whsec_standin_recon_0123456789";
let t: TestDb;
let stripe: StripeStandIn;
let f: ReturnType<typeof payoutFixtures>;
beforeAll(async () => {
  t = await createTestDb();
  stripe = await startStripeStandIn(SECRET);
  f = payoutFixtures(t.db, stripe, SECRET);
});
afterAll(async () => {
  await stripe.close();
  await t.close();
});

const today = () => ({ from: new Date(Date.now() - 3_600_000), to: new Date(Date.now() + 3_600_000) });

describe("payouts ↔ ledger ↔ Stripe", () => {
  it("passes when payouts, their postings and Stripe's transfers agree, through reversals and failures", async () => {
    const payouts: { id: string; account: string }[] = [];
    for (const dollars of [20, 35, 50]) {
      const orgId = await f.providerEarning(dollars);
      const account = await f.onboard(orgId);
      const [p] = await runPayouts(t.db, { api: f.api(), runId: uuidv7(), orgIds: [orgId], minimumCents: 1000, userId: null });
      payouts.push({ ...p!, account });
    }
    // Stripe reverses part of the second; the third's bank payout fails.
    const second = stripe.transfers.find((x) => x.metadata.payout_id === payouts[1]!.id)!;
    second.amount_reversed = 1000;
    await f.send(localConnectEvent("transfer.reversed", { ...second }, null, [second.id, "1000"]));
    await f.send(
      localConnectEvent("payout.failed", localPayoutObject({ payoutId: payouts[2]!.id, amountCents: 5000, status: "failed" }), payouts[2]!.account, [
        payouts[2]!.id,
      ]),
    );

    const report = await payoutsReport(t.db, { ...today(), stripe: stripe.payments.stripe });
    expect(report.differences).toEqual([]);
    expect(report.status).toBe("pass");
    expect(report.figures.map((x) => x.nano)).toEqual([usd(20 + 25), usd(20 + 25), usd(20 + 25 + 50)]);
  });

  it("a planted difference fails it: a payout record changed behind the ledger's back, and a transfer nobody recorded", async () => {
    const orgId = await f.providerEarning(15);
    await f.onboard(orgId);
    const [p] = await runPayouts(t.db, { api: f.api(), runId: uuidv7(), orgIds: [orgId], minimumCents: 1000, userId: null });
    await t.db.execute(sql`update connect_payouts set amount_cents = amount_cents + 100 where id = ${p!.id}::uuid`);
    stripe.transfers.push({ ...stripe.transfers[0]!, id: "tr_stray", metadata: {}, transfer_group: null });
    const report = await payoutsReport(t.db, { ...today(), stripe: stripe.payments.stripe });
    expect(report.status).toBe("fail");
    expect(report.differences.map((d) => [d.ref, d.detail])).toEqual([
      [p!.id, `payout record ${usd(16)} vs ledger ${usd(15)}`],
      [p!.id, `payout record 1600¢ (reversed 0¢) vs Stripe transfer ${stripe.transfers.find((x) => x.metadata.payout_id === p!.id)!.id} 1500¢ (reversed 0¢)`],
      ["tr_stray", "Stripe transfer with no payout record"],
    ]);
  });
});
