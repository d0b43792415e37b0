import { z } from "zod";
import { ledgerAccountKind, ledgerTransferCode } from "../../../db/schema/ledger";
import { journalPage, listOrganizations, transferDetail, transferUsageEvents } from "../../finance/books";
import {
  accountsInput,
  journalInput,
  monthInput,
  myStatementInput,
  rangeInput,
  reviewConflictInput,
  transferInput,
  usageEventsInput,
} from "../../finance/inputs";
import { listAccounts } from "../../ledger/reports";
import { reviewConflict } from "../../finance/conflicts";
import { monthlyStatement, orgStatement } from "../../finance/org";
import { closePeriod, listClosedPeriods } from "../../finance/periods";
import { runReconciliation } from "../../finance/reconcile";
import { currentBusLag } from "../../fleet/bus-lag";
import { settlementHealth } from "../../usage/health";
import { usageCostByKeyAndListing } from "../../finance/usage-queries";
import { orgProcedure, platformFinanceProcedure, router, type Context } from "../trpc";

/** Stripe's API when payments run through Stripe (reconciliation then compares with it). */
const stripeOf = (ctx: Context) => (ctx.payments?.payments.mode === "stripe" ? ctx.payments.payments.stripe : null);

// What an organisation's own finance sees of an account statement (no internal flags).
const statementOutput = z
  .object({
    account: z.object({
      id: z.string(),
      kind: z.enum(ledgerAccountKind.enumValues),
      postedNano: z.bigint(),
      pendingNano: z.bigint(),
      availableNano: z.bigint(),
    }),
    entries: z.array(
      z.object({
        transferId: z.string(),
        createdAt: z.date(),
        code: z.enum(ledgerTransferCode.enumValues),
        side: z.enum(["debit", "credit"]),
        amountNano: z.bigint(),
        postedDeltaNano: z.bigint(),
        balanceNano: z.bigint(),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .nullable();

export const financeRouter = router({
  // ── Platform books (finance members of the platform organisation) ──────────
  accounts: platformFinanceProcedure.input(accountsInput).query(({ ctx, input }) => listAccounts(ctx.db, input)),

  organizations: platformFinanceProcedure.query(({ ctx }) => listOrganizations(ctx.db)),

  journal: platformFinanceProcedure.input(journalInput).query(({ ctx, input }) => journalPage(ctx.db, input)),

  transfer: platformFinanceProcedure.input(transferInput).query(({ ctx, input }) => transferDetail(ctx.db, input)),

  usageEvents: platformFinanceProcedure.input(usageEventsInput).query(({ ctx, input }) => transferUsageEvents(ctx.db, input)),

  reconciliation: platformFinanceProcedure.input(rangeInput).query(({ ctx, input }) => runReconciliation(ctx.db, { ...input, stripe: stripeOf(ctx) })),

  settlementHealth: platformFinanceProcedure.query(({ ctx }) => settlementHealth(ctx.db)),

  usageBusLag: platformFinanceProcedure.query(() => currentBusLag()),

  periods: platformFinanceProcedure.query(({ ctx }) => listClosedPeriods(ctx.db)),

  closePeriod: orgProcedure("books.close")
    .input(monthInput)
    .mutation(({ ctx, input }) => closePeriod(ctx.db, { month: input.month, userId: ctx.user.id, stripe: stripeOf(ctx) })),

  reviewConflict: orgProcedure("books.close")
    .input(reviewConflictInput)
    .mutation(({ ctx, input }) => reviewConflict(ctx.db, { ...input, userId: ctx.user.id })),

  // ── An organisation's own finance (its owners and finance members) ─────────
  myStatement: orgProcedure("finance.read")
    .input(myStatementInput)
    .output(statementOutput)
    .query(({ ctx, input }) => orgStatement(ctx.db, { orgId: ctx.org.id, ...input })),

  myMonthly: orgProcedure("finance.read")
    .input(monthInput)
    .query(({ ctx, input }) => monthlyStatement(ctx.db, { orgId: ctx.org.id, month: input.month })),

  myUsage: orgProcedure("finance.read")
    .input(rangeInput)
    .query(({ ctx, input }) => usageCostByKeyAndListing(ctx.db, { orgId: ctx.org.id, ...input })),
});
