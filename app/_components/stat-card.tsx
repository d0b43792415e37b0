/**
 * One figure on a card: its label, the value (test id `testId`) and a hint under it (test id
 * `<testId>-hint`). Dashboards set theirs in rows (`look="dashboard"`); the credits page shows
 * balances in monospace (`look="balance"`), the headline one `strong`.
 */
export function StatCard({
  label,
  value,
  hint,
  testId,
  look = "dashboard",
  strong = false,
}: {
  label: string;
  value: string;
  hint?: string;
  testId: string;
  look?: "dashboard" | "balance";
  strong?: boolean;
}) {
  const balance = look === "balance";
  return (
    <div className="card">
      <div className={balance ? "text-sm text-slate-500" : "text-xs font-medium uppercase tracking-wide text-slate-500"}>{label}</div>
      <div
        className={balance ? `mt-1 font-mono ${strong ? "text-3xl font-semibold" : "text-xl"}` : "mt-1 text-xl font-semibold tabular-nums"}
        data-testid={testId}
      >
        {value}
      </div>
      {hint && (
        <div className="mt-1 text-xs text-slate-500" data-testid={`${testId}-hint`}>
          {hint}
        </div>
      )}
    </div>
  );
}
