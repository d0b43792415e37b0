/** What a key is at an instant. "unknown" is for a presented secret that matches no key. */
export type KeyStatus = "active" | "revoked" | "expired";

/**
 * A key's status at `now`: revoked once `revokedAt` has passed (an explicit act wins
 * over expiry), else expired once `expiresAt` has passed, else active. Both instants
 * are exclusive ends: at exactly `revokedAt` the key no longer works.
 */
export function keyStatus(k: { revokedAt: Date | null; expiresAt: Date | null }, now: Date): KeyStatus {
  if (k.revokedAt && k.revokedAt.getTime() <= now.getTime()) return "revoked";
  if (k.expiresAt && k.expiresAt.getTime() <= now.getTime()) return "expired";
  return "active";
}

/** The instant an active key stops working on its own (expiry or a scheduled revocation), or null. */
export function validUntil(k: { revokedAt: Date | null; expiresAt: Date | null }): Date | null {
  const times = [k.revokedAt, k.expiresAt].filter((d): d is Date => d !== null).map((d) => d.getTime());
  return times.length ? new Date(Math.min(...times)) : null;
}
