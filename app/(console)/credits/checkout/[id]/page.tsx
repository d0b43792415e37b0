import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { requireOrg } from "@/app/_lib/guards";
import { usdFromCents } from "@/app/_lib/format";
import { LocalCheckout } from "./local-checkout";

export const metadata: Metadata = { title: "Local checkout" };

export default async function LocalCheckoutPage({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { caller, org } = await requireOrg(`/credits/checkout/${id}`);
  const topup = await caller.credits.topup({ topupId: id }).catch(() => null);
  if (!topup || topup.mode !== "local") notFound();
  return (
    <div className="mx-auto max-w-md space-y-4">
      <div className="rounded-md border border-sky-300 bg-sky-50 px-4 py-3 text-sm text-sky-900">
        <strong>Local test checkout.</strong> This platform runs without Stripe keys: paying here moves no real money. It sends the same signed webhook Stripe
        would, through the same endpoint.
      </div>
      <div className="card space-y-4">
        <div className="text-sm text-slate-500">tokenmarket credits for {org.name}</div>
        <div className="text-4xl font-semibold" data-testid="checkout-amount">
          {usdFromCents(topup.amountCents)}
        </div>
        {topup.resumable ? (
          <LocalCheckout topupId={id} amount={usdFromCents(topup.amountCents)} />
        ) : (
          <p className="text-sm text-slate-600">This top-up is {topup.status === "open" ? "expired" : topup.status}.</p>
        )}
      </div>
    </div>
  );
}
