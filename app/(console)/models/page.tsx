import type { Metadata } from "next";
import Link from "next/link";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { ModelsList } from "./models-list";

export const metadata: Metadata = { title: "Models" };

export default async function Page() {
  const { org } = await requireOrg("/models");
  const canEdit = org.role === "owner" || org.role === "developer";
  return (
    <>
      <PageHeader
        title="Models"
        description="Listings your organisation sells on the marketplace."
        actions={canEdit && <Link href="/models/new" className="btn-primary" data-testid="new-listing">List a model</Link>}
      />
      <ModelsList canEdit={canEdit} />
    </>
  );
}
