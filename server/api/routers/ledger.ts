import { z } from "zod";
import { ledgerAccountKind, ledgerTransferCode, ledgerTransferType } from "../../../db/schema/ledger";
import { statementInput, trialBalanceInput } from "../../ledger/inputs";
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
    .query(({ ctx }) => listBalances(ctx.db, { orgId: ctx.org.id })),

  trialBalance: platformFinanceProcedure.input(trialBalanceInput).query(({ ctx, input }) => trialBalance(ctx.db, { at: input?.at })),

  statement: platformFinanceProcedure
    .input(statementInput)
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
