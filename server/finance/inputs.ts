import { z } from "zod";
import { ledgerAccountKind, ledgerTransferCode } from "../../db/schema/ledger";

/**
 * Finance's input schemas, one place for the tRPC procedures (server/api/routers/finance.ts
 * and payouts.ts) and the CSV exports, so the browser and a CSV link are validated alike.
 * Messages name the field as finance sees it.
 */

const uuid = z.uuid("is not a valid id");
const date = z.coerce.date({ message: "must be a date" });
const month = z
  .string()
  .trim()
  .regex(/^\d{4}-\d{2}$/, "must be a month as YYYY-MM");
const limit = (max: number, dflt: number) => z.number().int().min(1, "must be at least 1").max(max, `must be at most ${max}`).default(dflt);

/** A half-open period [from, to). */
export const rangeInput = z
  .object({ from: date, to: date })
  .refine((r) => r.from.getTime() < r.to.getTime(), { message: "must end after it starts", path: ["to"] });

export const monthInput = z.object({ month });

/** The journal's filters, validated the same for the browser (tRPC) and the CSV export. */
export const journalFilterInput = z.object({
  code: z.enum(ledgerTransferCode.enumValues).nullish(),
  accountId: z.uuid("is not a valid id").nullish(),
  orgId: z.uuid("is not a valid id").nullish(),
  refKind: z.string().trim().max(64).nullish(),
  refId: z.string().trim().max(200).nullish(),
  from: date.nullish(),
  to: date.nullish(),
});

export const journalInput = journalFilterInput.extend({ after: uuid.nullish(), limit: limit(500, 50) });

export const accountsInput = z
  .object({
    kind: z.enum(ledgerAccountKind.enumValues).nullish(),
    orgId: uuid.nullish(),
    search: z.string().max(100).nullish(),
    after: uuid.nullish(),
    limit: limit(500, 100),
  })
  .default({ limit: 100 });

export const transferInput = z.object({ id: uuid });

export const usageEventsInput = z.object({ transferId: uuid, after: z.string().max(64).nullish(), limit: limit(1000, 100) });

export const reviewConflictInput = z.object({
  conflictId: z.string().trim().min(1, "is required").max(200),
  note: z.string().trim().min(3, "must be at least 3 characters").max(500),
});

export const myStatementInput = z.object({
  kind: z.enum(["buyer_credits", "buyer_receivable", "provider_payable"]),
  after: uuid.nullish(),
  limit: limit(1000, 100),
});

const dateParam = date.nullish();

/** CSV export of an account statement (query parameters). */
export const statementExportInput = z.object({
  accountId: z.uuid("is not a valid account id"),
  from: dateParam,
  to: dateParam,
});

/** CSV export of the trial balance (query parameters). */
export const trialBalanceExportInput = z.object({ at: dateParam });

export const recordPayoutInput = z.object({
  /** Caller-chosen (the form generates it once): a retried submit records one payout. */
  id: z.uuid("must be a UUID"),
  orgId: z.uuid("choose a provider"),
  /** Dollars as a decimal string, at most the provider's payable balance. */
  amountUsd: z.string().trim().min(1, "is required").max(24, "is too long"),
  paidOn: z.iso.date("must be a date (YYYY-MM-DD)"),
  bankReference: z.string().trim().min(3, "must be at least 3 characters").max(140, "must be at most 140 characters"),
});

export type RecordPayoutInput = z.infer<typeof recordPayoutInput>;

const payoutsPage = z.object({
  before: z.uuid("is not a valid cursor").nullish(),
  limit: z.number().int().min(1, "must be at least 1").max(200, "must be at most 200").default(50),
});

/** A provider's own payouts, a page at a time. */
export const myPayoutsInput = payoutsPage;

/** Payouts of every provider, or of one. */
export const listPayoutsInput = payoutsPage.extend({ orgId: z.uuid("is not a valid id").nullish() });
