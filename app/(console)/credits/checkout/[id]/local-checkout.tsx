"use client";
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { ErrorText } from "@/app/_components/ui";
import { useTRPC } from "@/app/_lib/trpc";

export function LocalCheckout({ topupId, amount }: { topupId: string; amount: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const queryClient = useQueryClient();
  const pay = useMutation(
    trpc.credits.payLocally.mutationOptions({
      onSuccess: async () => {
        // The balance and history changed: do not show cached ones on the way back.
        await queryClient.invalidateQueries({ queryKey: trpc.credits.pathKey() });
        router.push(`/credits?topup=${topupId}`);
        router.refresh();
      },
    }),
  );
  return (
    <div className="space-y-3">
      <ErrorText>{pay.error?.message}</ErrorText>
      <button className="btn-primary w-full" disabled={pay.isPending} onClick={() => pay.mutate({ topupId, outcome: "pay" })}>
        {pay.isPending ? "Paying…" : `Pay ${amount}`}
      </button>
      <button className="btn-secondary w-full" disabled={pay.isPending} onClick={() => pay.mutate({ topupId, outcome: "fail" })}>
        Simulate a failed bank payment
      </button>
    </div>
  );
}
