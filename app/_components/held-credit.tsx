import { usd } from "@/app/_lib/format";

/**
 * What the proxy holds, in a buyer's words: it sets a little credit aside ahead of requests so
 * they start without waiting, and gives back what they did not use (server/gateway/reservations.ts
 * returns an idle key's hold after 10 s of no requests, checked every 5 s).
 */
export function heldCreditText(reservedNano: bigint): string | undefined {
  if (reservedNano <= 0n) return undefined;
  return `${usd(reservedNano)} is set aside so your next requests start at once; what they don't use comes back to your balance within about 15 seconds of your last request. You are only charged for what requests use.`;
}
