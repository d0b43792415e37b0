import type { Metadata } from "next";
import { redirect } from "next/navigation";
import { sessionUser } from "@/server/api/http";
import { CreateOrgForm } from "./create-org-form";

export const metadata: Metadata = { title: "New organisation" };

export default async function OnboardingPage() {
  if (!(await sessionUser())) redirect("/signin?callbackUrl=/onboarding");
  return (
    <div className="mx-auto max-w-md">
      <h1 className="text-2xl font-semibold tracking-tight">Create an organisation</h1>
      <p className="mb-6 mt-1 text-sm text-slate-600">Organisations own models, keys and credits. One organisation can both sell and buy tokens.</p>
      <CreateOrgForm />
    </div>
  );
}
