"use client";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useTRPC } from "@/app/_lib/trpc";
import { ListingForm } from "../listing-form";

export function NewListing({ orgSlug }: { orgSlug: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const create = useMutation(trpc.catalog.create.mutationOptions({ onSuccess: (l) => router.push(`/models/${l.id}`) }));
  return (
    <ListingForm
      orgSlug={orgSlug}
      pending={create.isPending || create.isSuccess}
      error={create.error?.message}
      submitLabel="Save draft"
      onSubmit={(s) => s.kind === "create" && create.mutate(s.input)}
    />
  );
}
