import { CputValue, type CputView } from "@/app/_components/economy";
import { EmptyState } from "@/app/_components/ui";
import { formatUsd } from "@/app/_lib/format";
import { MIN_CPUT_REQUESTS } from "@/server/economy/cput";
import { type EconomyWindow, economyWindows } from "@/server/economy/windows";

type Row = { listingId: string; slug: string; cput: CputView; nominalPer1MNano?: bigint | null };

/**
 * Cost per useful 1M tokens per model over 24 h, 7 d and 30 d, side by side: for a buyer its own
 * usage, for a provider its listings' traffic. Windows come from the page (one query each).
 */
export function CputByModel({ title, byWindow, testId }: { title: string; byWindow: Record<EconomyWindow, Row[]>; testId: string }) {
  const models = new Map<string, { slug: string; nominal: bigint | null | undefined }>();
  for (const w of economyWindows) for (const r of byWindow[w]) models.set(r.listingId, { slug: r.slug, nominal: r.nominalPer1MNano });
  return (
    <section className="card space-y-3" data-testid={testId}>
      <h2 className="font-semibold">{title}</h2>
      {models.size === 0 ? (
        <EmptyState title="No usage in the last 30 days">Figures appear once requests are billed.</EmptyState>
      ) : (
        <div className="overflow-x-auto">
          <table className="data-table stack-table">
            <thead>
              <tr>
                <th>Model</th>
                {models.values().next().value?.nominal !== undefined && <th className="text-right">Nominal $/1M output</th>}
                {economyWindows.map((w) => (
                  <th key={w} className="text-right">
                    {w}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {[...models.entries()].map(([id, m]) => (
                <tr key={id} data-testid={`${testId}-row`} data-slug={m.slug}>
                  <td className="font-medium">{m.slug}</td>
                  {m.nominal !== undefined && (
                    <td data-label="Nominal $/1M output" className="text-right tabular-nums">
                      {m.nominal === null ? "—" : formatUsd(m.nominal)}
                    </td>
                  )}
                  {economyWindows.map((w) => {
                    const row = byWindow[w].find((r) => r.listingId === id);
                    return (
                      <td key={w} data-label={w} className="text-right tabular-nums">
                        {row ? <CputValue cput={row.cput} testId={`cput-${w}`} /> : "—"}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p className="text-xs text-slate-500">
        Everything billed (failed, cut-off, disconnected and abandoned requests included) ÷ output tokens of requests that completed normally, per 1M; shown
        from {MIN_CPUT_REQUESTS} requests in the window, with the number of requests (n).
      </p>
    </section>
  );
}
