"use client";
import Link from "next/link";
import { signIn } from "next-auth/react";
import { useRouter } from "next/navigation";
import { useState } from "react";
import { ErrorText } from "@/app/_components/ui";

export function SignInForm({ callbackUrl, github, lockout }: { callbackUrl: string; github: boolean; lockout: string }) {
  const messages: Record<string, string> = { rate_limited: lockout, credentials: "Wrong email or password." };
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [pending, setPending] = useState(false);

  async function onSubmit(e: React.FormEvent<HTMLFormElement>) {
    e.preventDefault();
    const form = new FormData(e.currentTarget);
    setPending(true);
    setError(null);
    const res = await signIn("credentials", {
      email: String(form.get("email")),
      password: String(form.get("password")),
      redirect: false,
    });
    setPending(false);
    if (res?.error) {
      setError(messages[res.code ?? "credentials"] ?? messages.credentials!);
      return;
    }
    router.push(callbackUrl);
    router.refresh();
  }

  return (
    <div className="card space-y-4">
      <form onSubmit={onSubmit} className="space-y-4">
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
          <input className="input" id="password" name="password" type="password" autoComplete="current-password" required />
        </div>
        <ErrorText testId="signin-error">{error}</ErrorText>
        <button className="btn-primary w-full" type="submit" disabled={pending}>
          {pending ? "Signing in…" : "Sign in"}
        </button>
      </form>
      {github && (
        <button className="btn-secondary w-full" type="button" onClick={() => signIn("github", { redirectTo: callbackUrl })}>
          Continue with GitHub
        </button>
      )}
      <p className="text-center text-sm text-slate-600">
        New here?{" "}
        <Link className="font-medium text-indigo-700" href={`/signup?callbackUrl=${encodeURIComponent(callbackUrl)}`}>
          Create an account
        </Link>
      </p>
    </div>
  );
}
