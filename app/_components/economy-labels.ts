import { DEFAULT_ECONOMY_WINDOW, type EconomyWindow, economyWindows } from "@/server/economy/windows";

/** How the pages name each CPUT window. */
export const economyWindowLabels: Record<EconomyWindow, string> = { "24h": "24 h", "7d": "7 days", "30d": "30 days" };

/** "as of 14:05 UTC": when the token-economy figures were computed (the worker's summary, server/economy/summary.ts). */
export function economyAsOfText(asOf: Date | null): string {
  return asOf ? `as of ${asOf.toISOString().slice(11, 16)} UTC` : "not computed yet";
}

/** The `window` URL parameter of a page, the default when absent or not one of the windows. */
export function economyWindowParam(sp: Record<string, string | string[] | undefined>): EconomyWindow {
  const w = sp.window;
  return typeof w === "string" && (economyWindows as readonly string[]).includes(w) ? (w as EconomyWindow) : DEFAULT_ECONOMY_WINDOW;
}
