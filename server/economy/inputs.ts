import { z } from "zod";
import { economyWindows, DEFAULT_ECONOMY_WINDOW } from "./windows";

/** The token-economy procedures' inputs, each message naming the field as the page shows it. */
export const cputWindowInput = z.object({ window: z.enum(economyWindows).default(DEFAULT_ECONOMY_WINDOW) });
export const statementMonthInput = z.object({ month: z.string().trim().max(7, "must be a month as YYYY-MM") });
