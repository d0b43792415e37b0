/** Lower-case, dash-separated, 2–40 characters: `Acme GPUs, Inc.` → `acme-gpus-inc`. */
export function slugify(name: string): string {
  return name
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 40)
    .replace(/-+$/g, "");
}

export const SLUG_RE = /^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/;

/**
 * Slugs no organisation may take: the platform organisation's, and words that read as the
 * system speaking (a member invited to "platform" or "billing" should not believe it is ours).
 */
export const RESERVED_SLUGS: ReadonlySet<string> = new Set([
  "platform",
  "tokenmarket",
  "admin",
  "administrator",
  "root",
  "system",
  "support",
  "billing",
  "finance",
  "security",
  "api",
  "www",
  "app",
  "docs",
  "help",
  "status",
  "settings",
  "stripe",
  "webhooks",
  "v1",
  "openai",
]);
