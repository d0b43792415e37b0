"use client";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { ErrorText } from "@/app/_components/ui";
import { formError } from "@/app/_lib/form-errors";
import { useTRPC } from "@/app/_lib/trpc";

export function CreateOrgForm() {
  const trpc = useTRPC();
  const router = useRouter();
  const create = useMutation(
    trpc.orgs.create.mutationOptions({
      onSuccess: () => {
        router.push("/onboarding/next");
        router.refresh();
      },
    }),
  );
  return (
    <form
      className="card space-y-4"
      onSubmit={(e) => {
        e.preventDefault();
        const form = new FormData(e.currentTarget);
        const slug = String(form.get("slug") ?? "").trim();
        create.mutate({ name: String(form.get("name")), slug: slug || undefined });
      }}
    >
      <div>
        <label className="label" htmlFor="org-name">
          Name
        </label>
        <input className="input" id="org-name" name="name" placeholder="Acme AI" required />
      </div>
      <div>
        <label className="label" htmlFor="org-slug">
          Slug <span className="font-normal text-slate-400">(optional)</span>
        </label>
        <input className="input" id="org-slug" name="slug" placeholder="acme-ai" />
        <p className="mt-1 text-xs text-slate-500">
          Used in model names like <code>acme-ai/llama-70b</code>.
        </p>
      </div>
      <ErrorText>{formError(create.error, { name: "Name", slug: "Slug" })}</ErrorText>
      <button className="btn-primary w-full" disabled={create.isPending}>
        {create.isPending ? "Creating…" : "Create organisation"}
      </button>
    </form>
  );
}
