import type { Metadata } from "next";
import Link from "next/link";
import { redirect } from "next/navigation";
import { TRPCError } from "@trpc/server";
import { serverCaller } from "@/server/api/server-caller";
import { sessionUser } from "@/server/api/http";
import { AcceptInvite } from "./accept-invite";

export const metadata: Metadata = { title: "Invitation" };

export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const user = await sessionUser();
  if (!user) redirect(`/signin?callbackUrl=${encodeURIComponent(`/invite/${token}`)}`);
  let invite: { orgName: string; email: string; role: string } | null = null;
  let problem: string | null = null;
  try {
    invite = await (await serverCaller()).orgs.invitation({ token });
  } catch (err) {
    problem = err instanceof TRPCError ? err.message : "This invite link is not valid";
  }
  return (
    <div className="mx-auto max-w-md">
      <div className="card space-y-4">
        {invite ? (
          <>
            <h1 className="text-xl font-semibold">Join {invite.orgName}</h1>
            <p className="text-sm text-slate-600">
              You were invited as <strong>{invite.role}</strong> ({invite.email}).
            </p>
            <AcceptInvite token={token} />
          </>
        ) : (
          <>
            <h1 className="text-xl font-semibold">Invitation unavailable</h1>
            <p data-testid="invite-problem" className="text-sm text-slate-600">
              {problem}
            </p>
            <Link className="btn-secondary" href="/">
              Back to the marketplace
            </Link>
          </>
        )}
      </div>
    </div>
  );
}
