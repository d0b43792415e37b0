import type { Metadata } from "next";
import Link from "next/link";
import { PageHeader } from "@/app/_components/ui";
import { requireOrg } from "@/app/_lib/guards";
import { ModelsList } from "./models-list";
import { can } from "@/server/auth/permissions";

export const metadata: Metadata = { title: "Models" };

export default async function Page() {
  const { role } = await requireOrg("/models");
  const canEdit = can(role, "listings.manage");
  return (
    <>
      <PageHeader
        title="Models"
        description="Listings your organisation sells on the marketplace."
        actions={
          canEdit && (
            <Link href="/models/new" className="btn-primary" data-testid="new-listing">
              List a model
            </Link>
          )
        }
      />
      <ModelsList canEdit={canEdit} />
    </>
  );
}
