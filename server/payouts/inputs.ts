import { z } from "zod";

export const runPayoutsInput = z.object({
  /** Chosen by the finance page once per run: submitting it again pays nobody twice. */
  runId: z.uuid("must be a UUID"),
  /** Pay one provider only; all due providers when absent. */
  orgId: z.uuid("choose a provider").nullish(),
});

export const previewPayoutsInput = z.object({ orgId: z.uuid("choose a provider").nullish() });

export const payoutIdInput = z.object({ payoutId: z.uuid("is not a valid payout id") });
