/** Any origin will do: only whether the target stays on it matters. */
const BASE = "http://app.invalid";

/**
 * The path to go to after sign-in or sign-up: `target` when it stays on this site, else
 * `fallback`. Decided by parsing as browsers do (URL strips tabs and newlines and reads `\`
 * as `/`), so `/\evil.example`, `/%09/evil.example` (decoded to a tab), `//evil.example`
 * and absolute URLs all resolve to another origin and are refused. Returns the normalised
 * path, query and fragment, never the raw text.
 */
export function sameOriginPath(target: string | undefined, fallback: string): string {
  if (!target?.startsWith("/")) return fallback;
  let url: URL;
  try {
    url = new URL(target, BASE);
  } catch {
    return fallback;
  }
  return url.origin === BASE ? `${url.pathname}${url.search}${url.hash}` : fallback;
}
