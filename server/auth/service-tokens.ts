import { createHash, timingSafeEqual } from "node:crypto";

/** Who a service token speaks for: the platform's own proxy, or one provider's proxy. */
export type ServiceIdentity = { kind: "platform" } | { kind: "provider"; orgSlug: string };

type Entry = { digest: Buffer; identity: ServiceIdentity };

const digest = (s: string) => createHash("sha256").update(s).digest();

/**
 * Builds a matcher over the configured tokens. Tokens are compared as SHA-256
 * digests with timingSafeEqual, so the comparison time does not depend on
 * how much of a guess is right; every entry is checked.
 */
export function serviceTokenMatcher(platformToken: string | undefined, providerTokens: string | undefined) {
  const entries: Entry[] = [];
  if (platformToken) entries.push({ digest: digest(platformToken), identity: { kind: "platform" } });
  for (const pair of providerTokens?.split(",") ?? []) {
    const i = pair.indexOf(":");
    if (i > 0) entries.push({ digest: digest(pair.slice(i + 1).trim()), identity: { kind: "provider", orgSlug: pair.slice(0, i).trim() } });
  }
  return (presented: string | null): ServiceIdentity | null => {
    if (!presented) return null;
    const d = digest(presented);
    let found: ServiceIdentity | null = null;
    for (const e of entries) if (timingSafeEqual(d, e.digest)) found = e.identity;
    return found;
  };
}
