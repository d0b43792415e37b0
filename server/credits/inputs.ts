import { z } from "zod";

/** What the credits procedures accept; the services they call validate the values (amounts, bounds). */

export const createTopUpInput = z.object({
  /** Dollars as a decimal string ("25", "12.50"); whole cents only. */
  amountUsd: z.string().trim().min(1, "is required").max(20),
});

export const lowBalanceInput = z.object({ thresholdUsd: z.string().trim().min(1, "is required").max(20) });

export const topupIdInput = z.object({ topupId: z.uuid("is not a valid top-up id") });

export const payLocallyInput = topupIdInput.extend({ outcome: z.enum(["pay", "fail"]) });
