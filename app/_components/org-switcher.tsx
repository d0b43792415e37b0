"use client";
import { useMutation } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useTRPC } from "../_lib/trpc";

type Org = { id: string; name: string; role: string; isPlatform: boolean };

export function OrgSwitcher({ organizations, activeId }: { organizations: Org[]; activeId: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const switchOrg = useMutation(trpc.orgs.switch.mutationOptions({ onSuccess: () => router.refresh() }));
  return (
    <label className="flex items-center gap-2 text-sm">
      <span className="sr-only">Organisation</span>
      <select
        data-testid="org-switcher"
        className="input w-auto py-1.5"
        value={activeId}
        disabled={switchOrg.isPending}
        onChange={(e) => {
          if (e.target.value === "__new") router.push("/onboarding");
          else switchOrg.mutate({ orgId: e.target.value });
        }}
      >
        {organizations.map((o) => (
          <option key={o.id} value={o.id}>
            {o.name} · {o.role}
          </option>
        ))}
        <option value="__new">+ New organisation…</option>
      </select>
    </label>
  );
}
