"use client";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { ErrorText } from "@/app/_components/ui";
import { useTRPC } from "@/app/_lib/trpc";

export function AcceptInvite({ token }: { token: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const accept = useMutation(
    trpc.orgs.acceptInvite.mutationOptions({
      onSuccess: () => {
        router.push("/settings");
        router.refresh();
      },
    }),
  );
  return (
    <div className="space-y-3">
      <ErrorText>{accept.error?.message}</ErrorText>
      <button className="btn-primary w-full" disabled={accept.isPending} onClick={() => accept.mutate({ token })}>
        {accept.isPending ? "Joining…" : "Accept invitation"}
      </button>
    </div>
  );
}
