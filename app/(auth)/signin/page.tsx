import type { Metadata } from "next";
import { githubEnabled } from "@/server/auth";
import { sameOriginPath } from "@/server/auth/redirect";
import { lockoutMessage } from "@/server/auth/lockout";
import { webEnv } from "@/server/env";
import { SignInForm } from "./sign-in-form";

export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({ searchParams }: { searchParams: Promise<{ callbackUrl?: string }> }) {
  const { callbackUrl } = await searchParams;
  // Only same-site paths: an open redirect would let a link send users anywhere after sign-in.
  const next = sameOriginPath(callbackUrl, "/");
  return (
    <div className="mx-auto max-w-sm">
      <h1 className="mb-6 text-center text-2xl font-semibold tracking-tight">Sign in to tokenmarket</h1>
      <SignInForm callbackUrl={next} github={githubEnabled()} lockout={lockoutMessage(webEnv().SIGNIN_WINDOW_SECONDS)} />
    </div>
  );
}
