"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { ErrorText, Spinner } from "@/app/_components/ui";
import { formError } from "@/app/_lib/form-errors";
import { useTRPC } from "@/app/_lib/trpc";
import { memberRoles, type MemberRole } from "@/server/auth/permissions";

export function OrgSettings({ orgName, isOwner, myUserId }: { orgName: string; isOwner: boolean; myUserId: string }) {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const router = useRouter();
  const members = useQuery(trpc.orgs.members.queryOptions());
  const invites = useQuery({ ...trpc.orgs.invites.queryOptions(), enabled: isOwner });
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.orgs.pathKey() });

  const rename = useMutation(trpc.orgs.rename.mutationOptions({ onSuccess: () => router.refresh() }));
  const invite = useMutation(trpc.orgs.invite.mutationOptions({ onSuccess: refresh }));
  const revoke = useMutation(trpc.orgs.revokeInvite.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.orgs.removeMember.mutationOptions({ onSuccess: refresh }));
  const setRole = useMutation(trpc.orgs.setRole.mutationOptions({ onSuccess: refresh }));
  const [inviteLink, setInviteLink] = useState<string | null>(null);

  return (
    <div className="grid gap-6 lg:grid-cols-3">
      <section className="card space-y-4 lg:col-span-2">
        <h2 className="font-semibold">Members</h2>
        {members.isLoading ? (
          <Spinner />
        ) : (
          <table className="data-table" data-testid="members">
            <thead>
              <tr>
                <th>Name</th>
                <th>Email</th>
                <th>Role</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.data?.map((m) => (
                <tr key={m.userId}>
                  <td>{m.name ?? "—"}</td>
                  <td className="text-slate-600">{m.email}</td>
                  <td>
                    {isOwner && m.userId !== myUserId ? (
                      <select
                        className="input w-auto py-1"
                        aria-label={`Role of ${m.email}`}
                        value={m.role}
                        onChange={(e) => setRole.mutate({ userId: m.userId, role: e.target.value as MemberRole })}
                      >
                        {memberRoles.map((r) => (
                          <option key={r}>{r}</option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td className="text-right">
                    {isOwner && m.userId !== myUserId && (
                      <button className="btn-danger py-1" onClick={() => remove.mutate({ userId: m.userId })}>
                        Remove
                      </button>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <ErrorText>{members.error?.message ?? remove.error?.message ?? setRole.error?.message}</ErrorText>
      </section>

      {isOwner ? (
        <div className="space-y-6">
          <section className="card space-y-3">
            <h2 className="font-semibold">Invite a member</h2>
            <form
              className="space-y-3"
              onSubmit={(e) => {
                e.preventDefault();
                const f = new FormData(e.currentTarget);
                setInviteLink(null);
                invite.mutate(
                  { email: String(f.get("email")), role: String(f.get("role")) as MemberRole },
                  { onSuccess: (r) => setInviteLink(`${window.location.origin}/invite/${r.token}`) },
                );
              }}
            >
              <input className="input" name="email" type="email" placeholder="teammate@example.com" aria-label="Invite email" required />
              <select className="input" name="role" aria-label="Invite role" defaultValue="developer">
                {memberRoles.map((r) => (
                  <option key={r}>{r}</option>
                ))}
              </select>
              <button className="btn-primary w-full" disabled={invite.isPending}>
                Create invite link
              </button>
            </form>
            <ErrorText>{formError(invite.error, { email: "Invite email", role: "Role" })}</ErrorText>
            {inviteLink && <InviteLink link={inviteLink} />}
            {invites.data && invites.data.length > 0 && (
              <ul className="divide-y divide-slate-100 text-sm">
                {invites.data.map((i) => (
                  <li key={i.id} className="flex items-center justify-between py-2">
                    <span>
                      {i.email} <span className="text-slate-500">· {i.role}</span>
                    </span>
                    <button className="text-xs text-red-700 hover:underline" onClick={() => revoke.mutate({ inviteId: i.id })}>
                      Withdraw
                    </button>
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section className="card space-y-3">
            <h2 className="font-semibold">Rename</h2>
            <form
              className="flex gap-2"
              onSubmit={(e) => {
                e.preventDefault();
                rename.mutate({ name: String(new FormData(e.currentTarget).get("name")) });
              }}
            >
              <input className="input" name="name" defaultValue={orgName} aria-label="Organisation name" />
              <button className="btn-secondary" disabled={rename.isPending}>
                Save
              </button>
            </form>
            <ErrorText>{formError(rename.error, { name: "Organisation name" })}</ErrorText>
          </section>
        </div>
      ) : (
        <section className="card text-sm text-slate-600">Only owners can invite members, change roles or rename the organisation.</section>
      )}
    </div>
  );
}

/** The new invite's link, whole (it wraps rather than being cut off), with a copy button. */
function InviteLink({ link }: { link: string }) {
  const [copied, setCopied] = useState<"no" | "yes" | "failed">("no");
  return (
    <div className="space-y-2 rounded-md bg-indigo-50 p-3 text-sm">
      <p className="font-medium text-indigo-900">Send this link; it is shown once and works for 14 days.</p>
      <textarea
        className="input h-auto resize-none break-all font-mono text-xs"
        rows={3}
        readOnly
        value={link}
        data-testid="invite-link"
        aria-label="Invite link"
        onFocus={(e) => e.currentTarget.select()}
      />
      <button
        type="button"
        className="btn-primary"
        data-testid="copy-invite-link"
        onClick={() =>
          navigator.clipboard.writeText(link).then(
            () => setCopied("yes"),
            () => setCopied("failed"),
          )
        }
      >
        {copied === "yes" ? "Copied" : "Copy link"}
      </button>
      {copied === "failed" && <p className="text-red-700">The browser refused clipboard access; select the link and copy it by hand.</p>}
    </div>
  );
}
