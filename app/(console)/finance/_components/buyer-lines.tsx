import Link from "next/link";
import { MoneyCell } from "@/app/_components/money-cell";
import { heldCreditText } from "@/app/_components/held-credit";
import { formatDate, usd } from "@/app/_lib/format";

type Line = { day: string; label: string; amountNano: bigint; balanceNano: bigint; requests: number | null; transferId: string | null };
export type BuyerMonth = {
  openingNano: bigint;
  closingNano: bigint;
  paidInNano: bigint;
  usedNano: bigint;
  requests: number;
  heldNowNano: bigint;
  lines: Line[];
};

/** The activity log for one UTC day, where a usage line's requests are listed one by one. */
export const usageDayHref = (day: string) => `/usage?day=${day}`;

/**
 * A buyer's month in lines they recognise (server/finance/buyer-lines.ts): top-ups, usage per
 * day with its request count and a link to those requests, refunds; what is held now is said
 * apart, because a hold is not a charge.
 */
export function BuyerStatement({ s, current }: { s: BuyerMonth; current: boolean }) {
  return (
    <div className="space-y-3" data-testid="buyer-statement">
      <div className="overflow-x-auto">
        <table className="data-table stack-table">
          <thead>
            <tr>
              <th>Day (UTC)</th>
              <th>What</th>
              <th className="text-right">Amount</th>
              <th className="text-right">Balance</th>
            </tr>
          </thead>
          <tbody>
            <tr>
              <td colSpan={3} className="text-slate-500">
                Opening balance
              </td>
              <MoneyCell nano={s.openingNano} />
            </tr>
            {s.lines.map((l, i) => (
              // biome-ignore lint/suspicious/noArrayIndexKey: read-only rows that may repeat exactly and are never reordered
              <tr key={`${l.day}-${l.transferId ?? "usage"}-${i}`} data-testid={l.requests === null ? "statement-line" : "statement-usage-line"}>
                <td data-label="Day">{formatDate(`${l.day}T00:00:00Z`)}</td>
                <td data-label="What">
                  {l.requests === null ? (
                    l.label
                  ) : (
                    <Link className="text-indigo-700 hover:underline" href={usageDayHref(l.day)}>
                      {l.label}
                    </Link>
                  )}
                </td>
                <td data-label="Amount" className={`text-right font-mono ${l.amountNano < 0n ? "text-slate-900" : "text-emerald-700"}`}>
                  {l.amountNano > 0n ? "+" : ""}
                  {usd(l.amountNano)}
                </td>
                <MoneyCell nano={l.balanceNano} data-label="Balance" />
              </tr>
            ))}
            <tr className="font-semibold">
              <td colSpan={3}>Closing balance</td>
              <MoneyCell nano={s.closingNano} data-testid="statement-closing" />
            </tr>
          </tbody>
        </table>
      </div>
      <p className="text-sm">
        Paid in <strong className="font-mono">{usd(s.paidInNano)}</strong> · used{" "}
        <strong className="font-mono" data-testid="statement-usage-total">
          {usd(s.usedNano)}
        </strong>{" "}
        by <span data-testid="statement-usage-requests">{s.requests.toLocaleString("en-US")}</span> requests.
      </p>
      {current && s.heldNowNano > 0n && (
        <p className="text-xs text-slate-500" data-testid="statement-held">
          Not a charge: {heldCreditText(s.heldNowNano)}
        </p>
      )}
    </div>
  );
}
