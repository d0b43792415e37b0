import type { TdHTMLAttributes } from "react";
import { usd, usdFromCents } from "@/app/_lib/format";

type Amount = { nano: bigint; cents?: never } | { cents: number; nano?: never };

/**
 * A money figure in a table: right-aligned, in the app's one money format, from nano-USD or
 * (top-ups and payouts, which Stripe counts in) cents. The books set amounts in monospace;
 * dashboards in proportional figures (`digits="tabular"`).
 */
export function MoneyCell({
  nano,
  cents,
  digits = "mono",
  className,
  ...td
}: Amount & { digits?: "mono" | "tabular" } & Omit<TdHTMLAttributes<HTMLTableCellElement>, "children">) {
  const base = `text-right ${digits === "mono" ? "font-mono" : "tabular-nums"}`;
  return (
    <td {...td} className={className ? `${base} ${className}` : base}>
      {nano !== undefined ? usd(nano) : usdFromCents(cents)}
    </td>
  );
}
