import type { Metadata } from "next";
import { notFound } from "next/navigation";
import { requireOrg } from "@/app/_lib/guards";
import { isUuid } from "@/server/lib/ids";
import { ManageListing } from "./manage-listing";

export const metadata: Metadata = { title: "Manage model" };

export default async function Page({ params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  const { org, role } = await requireOrg(`/models/${id}`);
  if (!isUuid(id)) notFound();
  return <ManageListing key={`${org.id}-${id}`} id={id} orgSlug={org.slug} role={role} />;
}
