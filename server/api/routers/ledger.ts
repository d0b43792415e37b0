import { z } from "zod";
import { ledgerAccountKind, ledgerTransferCode, ledgerTransferType } from "../../../db/schema/ledger";
import { checkInvariants, listBalances, statement, trialBalance } from "../../ledger/service";
import { orgProcedure, platformFinanceProcedure, router } from "../trpc";

const kind = z.enum(ledgerAccountKind.enumValues);

// What members of an organisation may see of its accounts: balances, not internals.
const balanceOutput = z.object({
  id: z.string(),
  kind,
  currency: z.string(),
  postedNano: z.bigint(),
  pendingNano: z.bigint(),
  availableNano: z.bigint(),
  creditLimitNano: z.bigint(),
});

export const ledgerRouter = router({
  /** The active organisation's accounts and balances. */
  balances: orgProcedure()
    .output(z.array(balanceOutput))
    .query(({ ctx }) => listBalances(ctx.db, ctx.org.id)),

  trialBalance: platformFinanceProcedure
    .input(z.object({ at: z.coerce.date({ message: "must be a date" }).optional() }).optional())
    .query(({ ctx, input }) => trialBalance(ctx.db, input?.at)),

  statement: platformFinanceProcedure
    .input(
      z.object({
        accountId: z.uuid("is not a valid account id"),
        after: z.uuid("is not a valid cursor").nullish(),
        limit: z.number().int().min(1, "must be at least 1").max(1000, "must be at most 1000").default(100),
      }),
    )
    .output(
      z.object({
        account: balanceOutput.extend({
          orgId: z.string().nullable(),
          debitsPosted: z.bigint(),
          creditsPosted: z.bigint(),
          debitsPending: z.bigint(),
          creditsPending: z.bigint(),
        }),
        entries: z.array(
          z.object({
            transferId: z.string(),
            createdAt: z.date(),
            type: z.enum(ledgerTransferType.enumValues),
            code: z.enum(ledgerTransferCode.enumValues),
            refKind: z.string().nullable(),
            refId: z.string().nullable(),
            pendingId: z.string().nullable(),
            side: z.enum(["debit", "credit"]),
            amountNano: z.bigint(),
            postedDeltaNano: z.bigint(),
            pendingDeltaNano: z.bigint(),
            balanceNano: z.bigint(),
            pendingNano: z.bigint(),
          }),
        ),
        nextCursor: z.string().nullable(),
      }),
    )
    .query(({ ctx, input }) => statement(ctx.db, input)),

  invariants: platformFinanceProcedure.query(({ ctx }) => checkInvariants(ctx.db)),
});
