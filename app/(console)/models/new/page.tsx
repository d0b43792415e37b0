import type { Metadata } from "next";
import Link from "next/link";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { NewListing } from "./new-listing";
import { can } from "@/server/auth/permissions";

export const metadata: Metadata = { title: "List a model" };

export default async function Page() {
  const { org, role } = await requireOrg("/models/new");
  if (!can(role, "listings.manage")) {
    return (
      <>
        <PageHeader title="List a model" />
        <p className="card text-sm text-slate-600">
          Only owners and developers of {org.name} can list models.{" "}
          <Link className="text-indigo-700" href="/models">
            Back to models
          </Link>
        </p>
      </>
    );
  }
  return (
    <>
      <PageHeader title="List a model" description="It starts as a draft: test the connection, then an owner publishes it." />
      <NewListing orgSlug={org.slug} />
    </>
  );
}
