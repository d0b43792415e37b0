import { z } from "zod";
import { ledgerAccountKind, ledgerTransferCode } from "../../../db/schema/ledger";
import { journalFilterInput, journalPage, listOrganizations, transferDetail, transferUsageEvents } from "../../finance/books";
import { listAccounts } from "../../ledger/reports";
import { reviewConflict } from "../../finance/conflicts";
import { monthlyStatement, orgStatement } from "../../finance/org";
import { closePeriod, listClosedPeriods } from "../../finance/periods";
import { runReconciliation } from "../../finance/reconcile";
import { settlementHealth } from "../../usage/health";
import { usageCostByKeyAndListing } from "../../finance/usage-queries";
import { orgProcedure, platformFinanceProcedure, router, type Context } from "../trpc";

const uuid = z.uuid("is not a valid id");
const date = z.coerce.date({ message: "must be a date" });
const month = z.string().trim().regex(/^\d{4}-\d{2}$/, "must be a month as YYYY-MM");
const limit = (max: number, dflt: number) => z.number().int().min(1, "must be at least 1").max(max, `must be at most ${max}`).default(dflt);
const range = z
  .object({ from: date, to: date })
  .refine((r) => r.from.getTime() < r.to.getTime(), { message: "must end after it starts", path: ["to"] });


/** Stripe's API when payments run through Stripe (reconciliation then compares with it). */
const stripeOf = (ctx: Context) => (ctx.payments?.payments.mode === "stripe" ? ctx.payments.payments.stripe : null);

// What an organisation's own finance sees of an account statement (no internal flags).
const statementOutput = z
  .object({
    account: z.object({ id: z.string(), kind: z.enum(ledgerAccountKind.enumValues), postedNano: z.bigint(), pendingNano: z.bigint(), availableNano: z.bigint() }),
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
  accounts: platformFinanceProcedure
    .input(
      z
        .object({
          kind: z.enum(ledgerAccountKind.enumValues).nullish(),
          orgId: uuid.nullish(),
          search: z.string().max(100).nullish(),
          after: uuid.nullish(),
          limit: limit(500, 100),
        })
        .default({ limit: 100 }),
    )
    .query(({ ctx, input }) => listAccounts(ctx.db, input)),

  organizations: platformFinanceProcedure.query(({ ctx }) => listOrganizations(ctx.db)),

  journal: platformFinanceProcedure
    .input(journalFilterInput.extend({ after: uuid.nullish(), limit: limit(500, 50) }))
    .query(({ ctx, input: { after, limit, ...filter } }) => journalPage(ctx.db, filter, { after, limit })),

  transfer: platformFinanceProcedure.input(z.object({ id: uuid })).query(({ ctx, input }) => transferDetail(ctx.db, input.id)),

  usageEvents: platformFinanceProcedure
    .input(z.object({ transferId: uuid, after: z.string().max(64).nullish(), limit: limit(1000, 100) }))
    .query(({ ctx, input }) => transferUsageEvents(ctx.db, input)),

  reconciliation: platformFinanceProcedure.input(range).query(({ ctx, input }) => runReconciliation(ctx.db, input, stripeOf(ctx))),

  settlementHealth: platformFinanceProcedure.query(({ ctx }) => settlementHealth(ctx.db)),

  periods: platformFinanceProcedure.query(({ ctx }) => listClosedPeriods(ctx.db)),

  closePeriod: orgProcedure("books.close")
    .input(z.object({ month }))
    .mutation(({ ctx, input }) => closePeriod(ctx.db, { month: input.month, userId: ctx.user.id, stripe: stripeOf(ctx) })),

  reviewConflict: orgProcedure("books.close")
    .input(z.object({ conflictId: z.string().trim().min(1, "is required").max(200), note: z.string().trim().min(3, "must be at least 3 characters").max(500) }))
    .mutation(({ ctx, input }) => reviewConflict(ctx.db, { ...input, userId: ctx.user.id })),

  // ── An organisation's own finance (its owners and finance members) ─────────
  myStatement: orgProcedure("finance.read")
    .input(z.object({ kind: z.enum(["buyer_credits", "buyer_receivable", "provider_payable"]), after: uuid.nullish(), limit: limit(1000, 100) }))
    .output(statementOutput)
    .query(({ ctx, input }) => orgStatement(ctx.db, { orgId: ctx.org.id, ...input })),

  myMonthly: orgProcedure("finance.read")
    .input(z.object({ month }))
    .query(({ ctx, input }) => monthlyStatement(ctx.db, { orgId: ctx.org.id, month: input.month })),

  myUsage: orgProcedure("finance.read")
    .input(range)
    .query(({ ctx, input }) => usageCostByKeyAndListing(ctx.db, { orgId: ctx.org.id, ...input })),
});
