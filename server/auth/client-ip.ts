/**
 * The client's address as the nearest trusted proxy saw it. Each proxy appends the address
 * that connected to it to `X-Forwarded-For`, so with `trustedHops` proxies in front of the
 * app the client is the entry that many places from the right; everything left of it was
 * written by the client and proves nothing. With no trusted proxy (0) the header is the
 * client's own word (Next keeps a client-sent one), so the address is unknown: null.
 */
export function clientIp(headers: Headers, trustedHops: number): string | null {
  if (trustedHops <= 0) return null;
  const entries = (headers.get("x-forwarded-for") ?? "")
    .split(",")
    .map((e) => e.trim())
    .filter(Boolean);
  return entries[entries.length - trustedHops] ?? null;
}
