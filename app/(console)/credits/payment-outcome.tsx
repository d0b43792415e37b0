"use client";
import { useQuery } from "@tanstack/react-query";
import { usdFromCents, dateTime } from "@/app/_lib/format";
import { useTRPC } from "@/app/_lib/trpc";

const tone = {
  good: "border-emerald-300 bg-emerald-50 text-emerald-900",
  bad: "border-red-300 bg-red-50 text-red-800",
  neutral: "border-slate-300 bg-slate-50 text-slate-800",
} as const;

/**
 * What happened to the checkout the buyer just came back from (`?topup=` after paying or
 * failing, `?canceled=` when they left Stripe's page). Credit arrives by webhook, possibly a
 * moment after the return, so an open top-up is polled until it settles.
 */
export function PaymentOutcome({ topupId, leftCheckout }: { topupId: string; leftCheckout: boolean }) {
  const trpc = useTRPC();
  const q = useQuery({
    ...trpc.credits.topup.queryOptions({ topupId }),
    refetchInterval: (query) => (!leftCheckout && query.state.data?.status === "open" ? 2000 : false),
  });
  const t = q.data;
  if (!t) return null;
  const amount = usdFromCents(t.amountCents);
  const [kind, text] = ((): [keyof typeof tone, string] => {
    switch (t.status) {
      case "paid":
        return ["good", `Payment received: ${amount} was added to your balance.`];
      case "failed":
        return ["bad", `The payment of ${amount} failed: nothing was charged and no credit was added. Try again, perhaps with another payment method.`];
      case "canceled":
        return ["neutral", `Top-up of ${amount} cancelled: nothing was charged.`];
      case "expired":
        return ["neutral", `The checkout for ${amount} expired after 24 hours without payment: nothing was charged.`];
      case "open":
        return leftCheckout || !t.resumable
          ? ["neutral", `You left the checkout for ${amount} without paying. You can resume it until ${dateTime(t.expiresAt)} or cancel it below.`]
          : ["neutral", `Waiting for the payment of ${amount} to be confirmed…`];
    }
  })();
  return (
    <div data-testid="payment-outcome" data-outcome={t.status} className={`rounded-md border px-4 py-3 text-sm ${tone[kind]}`}>
      {text}
    </div>
  );
}
