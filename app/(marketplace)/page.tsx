import Link from "next/link";
import { EmptyState } from "@/app/_components/ui";

export default function MarketplacePage() {
  return (
    <>
      <section className="mb-8">
        <h1 className="text-3xl font-semibold tracking-tight">The market for AI tokens</h1>
        <p className="mt-2 max-w-2xl text-slate-600">
          Compare models by price per 1M tokens, tokens per dollar and tokens per watt, then call any of them with
          one OpenAI-compatible API key.
        </p>
      </section>
      <EmptyState title="No models listed yet" action={<Link href="/models" className="btn-primary">List a model</Link>}>
        Providers publish models with prices and energy figures; they appear here for everyone to compare.
      </EmptyState>
    </>
  );
}
