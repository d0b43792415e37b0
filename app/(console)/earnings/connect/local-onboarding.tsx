"use client";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { ErrorText } from "@/app/_components/ui";
import { useTRPC } from "@/app/_lib/trpc";

export function LocalOnboarding() {
  const trpc = useTRPC();
  const router = useRouter();
  const done = useMutation(trpc.connect.completeLocalOnboarding.mutationOptions({ onSuccess: () => router.push("/earnings?connect=return") }));
  return (
    <section className="card max-w-xl space-y-3">
      <p className="text-sm text-slate-600">
        Stripe would ask for the business&apos;s details and a bank account here. The local stand-in sends the <code>account.updated</code> event Stripe sends
        once that is done, signed, through the platform&apos;s webhook.
      </p>
      <button className="btn-primary" onClick={() => done.mutate()} disabled={done.isPending} data-testid="complete-onboarding">
        Finish onboarding
      </button>
      {done.error && <ErrorText>{done.error.message}</ErrorText>}
    </section>
  );
}
