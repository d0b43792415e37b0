/**
 * The spans the token-economy figures are read over. CPUT is offered over the last 24 h, 7 d and
 * 30 d (7 d by default: a day is too few requests for most listings, a month too slow to show a
 * provider's fix); measured energy always over 30 d, since 1M tokens of reports take time to gather.
 */
export const ECONOMY_WINDOWS = { "24h": 24, "7d": 7 * 24, "30d": 30 * 24 } as const;
export type EconomyWindow = keyof typeof ECONOMY_WINDOWS;
export const DEFAULT_ECONOMY_WINDOW: EconomyWindow = "7d";
export const ENERGY_WINDOW_HOURS = ECONOMY_WINDOWS["30d"];
export const economyWindows = Object.keys(ECONOMY_WINDOWS) as [EconomyWindow, ...EconomyWindow[]];
