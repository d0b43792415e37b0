import { formatUsd } from "@/server/ledger/money";

/** Dollars for people: as many decimals as the value needs (at least 2). */
export const usd = (nano: bigint) => formatUsd(nano);
export const usdFromCents = (cents: number) => formatUsd(BigInt(cents) * 10_000_000n);

export function dateTime(d: Date | string): string {
  return new Date(d).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}
