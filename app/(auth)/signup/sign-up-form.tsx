"use client";
import { useMutation } from "@tanstack/react-query";
import Link from "next/link";
import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { ErrorText } from "@/app/_components/ui";
import { useTRPC } from "@/app/_lib/trpc";

export function SignUpForm({ callbackUrl }: { callbackUrl: string }) {
  const trpc = useTRPC();
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const signUp = useMutation(trpc.account.signUp.mutationOptions());

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    const input = { name: String(form.get("name")), email: String(form.get("email")), password: String(form.get("password")) };
    setError(null);
    try {
      await signUp.mutateAsync(input);
    } catch (err) {
      setError(err instanceof Error ? err.message : "Could not create the account");
      return;
    }
    const res = await signIn("credentials", { email: input.email, password: input.password, redirect: false });
    if (res?.error) {
      setError("Your account was created, but signing in failed. Try signing in.");
      return;
    }
    router.push(callbackUrl);
    router.refresh();
  }

  return (
    <form onSubmit={onSubmit} className="card space-y-4">
      <div>
        <label className="label" htmlFor="name">
          Name
        </label>
        <input className="input" id="name" name="name" autoComplete="name" required />
      </div>
      <div>
        <label className="label" htmlFor="email">
          Email
        </label>
        <input className="input" id="email" name="email" type="email" autoComplete="email" required />
      </div>
      <div>
        <label className="label" htmlFor="password">
          Password
        </label>
        <input className="input" id="password" name="password" type="password" autoComplete="new-password" minLength={10} required />
        <p className="mt-1 text-xs text-slate-500">At least 10 characters.</p>
      </div>
      <ErrorText testId="signup-error">{error}</ErrorText>
      <button className="btn-primary w-full" type="submit" disabled={signUp.isPending}>
        {signUp.isPending ? "Creating account…" : "Create account"}
      </button>
      <p className="text-center text-sm text-slate-600">
        Have an account?{" "}
        <Link className="font-medium text-indigo-700" href="/signin">
          Sign in
        </Link>
      </p>
    </form>
  );
}
