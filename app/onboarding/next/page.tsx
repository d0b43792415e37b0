import type { Metadata } from "next";
import Link from "next/link";
import { requireOrg } from "@/app/_lib/guards";

export const metadata: Metadata = { title: "Next steps" };

const steps = [
  { href: "/credits", title: "Top up credits", text: "Prepaid credit pays for every request your keys make.", testId: "next-topup" },
  {
    href: "/keys",
    title: "Create an API key",
    text: "Call any listed model with an OpenAI client and your key, with spend and rate limits.",
    testId: "next-key",
  },
  {
    href: "/models/new",
    title: "List a model",
    text: "Sell tokens: publish your endpoint with prices per 1M tokens and its tokens per watt.",
    testId: "next-list",
  },
] as const;

/** Where a new organisation lands: the three things people come here to do, and the team. */
export default async function NextStepsPage() {
  const { org } = await requireOrg("/onboarding/next");
  return (
    <div className="mx-auto max-w-3xl space-y-6">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">{org.name} is ready</h1>
        <p className="mt-1 text-sm text-slate-600">What would you like to do first? Organisations can buy and sell at once.</p>
      </div>
      <div className="grid gap-4 sm:grid-cols-3">
        {steps.map((s) => (
          <Link key={s.href} href={s.href} data-testid={s.testId} className="card block space-y-2 hover:border-indigo-400">
            <h2 className="font-semibold text-indigo-700">{s.title} →</h2>
            <p className="text-sm text-slate-600">{s.text}</p>
          </Link>
        ))}
      </div>
      <p className="text-sm text-slate-600">
        Working with others?{" "}
        <Link className="font-medium text-indigo-700" href="/settings">
          Invite your team
        </Link>{" "}
        from Settings.
      </p>
    </div>
  );
}
