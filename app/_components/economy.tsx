import { economyAsOfText } from "@/app/_components/economy-labels";
import { formatFigure, formatUsd } from "@/app/_lib/format";
import { MIN_CPUT_REQUESTS } from "@/server/economy/cput";
import type { EnergyVerdict } from "@/server/economy/energy";
import { MIN_ENERGY_SAMPLE_TOKENS } from "@/server/economy/energy";
import { STANDARD_CONVERSATION } from "@/server/economy/standard-conversation";

/** What the token-economy pieces of the pages need of a CPUT (the tRPC output of server/economy/figures.ts). */
export type CputView =
  | { state: "insufficient-sample"; requests: number; minimum: number }
  | { state: "no-useful-output"; requests: number; billedNano: bigint }
  | { state: "measured"; requests: number; usefulOutputTokens: bigint; per1MNano: bigint; wastedPer1MNano: bigint; failedShare: number; inputShare: number };

/** A cost per useful 1M tokens with its sample ("n = 240 requests"), or why it is not stated. */
export function CputValue({ cput, testId = "cput" }: { cput: CputView; testId?: string }) {
  if (cput.state === "insufficient-sample") {
    return (
      <span data-testid={testId} title={`Shown once ${MIN_CPUT_REQUESTS} requests were billed in the window`}>
        —
        {cput.requests > 0 && (
          <span className="block text-xs text-slate-500">
            {cput.requests} of {MIN_CPUT_REQUESTS} requests
          </span>
        )}
      </span>
    );
  }
  if (cput.state === "no-useful-output") {
    return (
      <span data-testid={testId} title="Requests were billed but none completed normally">
        no useful output
        <span className="block text-xs text-slate-500">n = {cput.requests.toLocaleString("en-US")}</span>
      </span>
    );
  }
  return (
    <span>
      <span data-testid={testId}>{formatUsd(cput.per1MNano)}</span>
      <span className="block text-xs text-slate-500" data-testid={`${testId}-sample`}>
        n = {cput.requests.toLocaleString("en-US")}
      </span>
    </span>
  );
}

const percent = (share: number) => `${(share * 100).toFixed(1)} %`;

/** CPUT's components: nominal price, the part spent on requests that were not useful, the share of the cost spent on input. */
export function CputComponents({ cput, nominalPer1MNano }: { cput: CputView; nominalPer1MNano: bigint }) {
  return (
    <dl className="grid grid-cols-2 gap-x-3 gap-y-1 text-sm" data-testid="cput-components">
      <dt className="text-slate-500">Nominal (output price)</dt>
      <dd className="tabular-nums">{formatUsd(nominalPer1MNano)} / 1M</dd>
      {cput.state === "measured" && (
        <>
          <dt className="text-slate-500">Spent on failed or cut-off requests</dt>
          <dd className="tabular-nums" data-testid="cput-failed-share">
            {percent(cput.failedShare)} ({formatUsd(cput.wastedPer1MNano)} / 1M)
          </dd>
          <dt className="text-slate-500">Share of cost spent on input</dt>
          <dd className="tabular-nums" data-testid="cput-input-share">
            {percent(cput.inputShare)}
          </dd>
          <dt className="text-slate-500">Useful output tokens</dt>
          <dd className="tabular-nums">{cput.usefulOutputTokens.toLocaleString("en-US")}</dd>
        </>
      )}
    </dl>
  );
}

/** The standard conversation's latency, "5.3 s", or "—" when a median is below its minimum sample. */
export function formatLatency(ms: number | null): string {
  if (ms === null) return "—";
  return ms >= 1000 ? `${formatFigure(ms / 1000)} s` : `${formatFigure(ms)} ms`;
}

const verdicts: Record<EnergyVerdict, { label: string; className: string } | null> = {
  verified: { label: "verified", className: "bg-emerald-50 text-emerald-800" },
  "over-declared": { label: "over-declared", className: "bg-red-50 text-red-800" },
  "under-declared": { label: "better than declared", className: "bg-sky-50 text-sky-800" },
  "insufficient-sample": null,
  "not-measured": null,
  "not-declared": null,
};

/** The verified / over-declared mark of a listing's energy declaration. */
export function EnergyBadge({ verdict }: { verdict: EnergyVerdict }) {
  const v = verdicts[verdict];
  if (!v) return null;
  return (
    <span className={`ml-1 inline-block rounded px-1.5 py-0.5 text-xs ${v.className}`} data-testid="energy-verdict" data-verdict={verdict}>
      {v.label}
    </span>
  );
}

/** Measured tokens per watt beside its sample, or why it is not shown. */
export function MeasuredEnergy({ energy }: { energy: { tokensPerJoule: number | null; sampleTokens: number; hours: number; verdict: EnergyVerdict } }) {
  if (energy.tokensPerJoule === null) return <span data-testid="measured-tpw">—</span>;
  return (
    <span>
      <span data-testid="measured-tpw">{formatFigure(energy.tokensPerJoule)}</span>
      <EnergyBadge verdict={energy.verdict} />
      <span className="block text-xs text-slate-500" data-testid="measured-tpw-sample">
        {formatTokenCount(energy.sampleTokens)} tokens · {energy.hours} h
      </span>
    </span>
  );
}

const compactTokens = new Intl.NumberFormat("en-US", { notation: "compact", maximumSignificantDigits: 3 });
const formatTokenCount = (n: number) => compactTokens.format(n);

/** The rules in words, for the pages that show these figures. */
export const economyRules = `Cost per useful 1M tokens: everything billed for a listing's requests (failed, cut off, disconnected and abandoned ones included) ÷ the output tokens of requests that completed normally, × 1 000 000; shown from ${MIN_CPUT_REQUESTS} requests. Standard conversation: ${STANDARD_CONVERSATION.inputTokens} input + ${STANDARD_CONVERSATION.outputTokens} output tokens at the price in force; latency = median time to first token + ${STANDARD_CONVERSATION.outputTokens} tokens at the median measured throughput. Measured tokens per watt (per joule) over 30 days from upstreams' energy reports and providers' meter readings: verified within ±10 % of declared over at least ${compactTokens.format(MIN_ENERGY_SAMPLE_TOKENS)} tokens, over-declared when measured falls more than 10 % short.`;

/** When the cost-per-useful-token, measured-energy and latency figures were computed (the worker rebuilds them every minute). */
export function EconomyAsOf({ asOf }: { asOf: Date | null }) {
  return (
    <span data-testid="economy-as-of" data-as-of={asOf?.toISOString() ?? ""}>
      Token-economy figures {economyAsOfText(asOf)}, recomputed every minute.
    </span>
  );
}
