import type { Metadata } from "next";
import { sameOriginPath } from "@/server/auth/redirect";
import { SignUpForm } from "./sign-up-form";

export const metadata: Metadata = { title: "Sign up" };

export default async function SignUpPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string }> }) {
  const { callbackUrl } = await searchParams;
  // Only same-site paths: an open redirect would let a link send users anywhere after sign-up.
  const next = sameOriginPath(callbackUrl, "/onboarding");
  return (
    <div className="mx-auto max-w-sm">
      <h1 className="mb-6 text-center text-2xl font-semibold tracking-tight">Create your account</h1>
      <SignUpForm callbackUrl={next} />
    </div>
  );
}
