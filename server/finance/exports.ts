import type { z } from "zod";
import type { Db } from "../../db/client";
import type { SessionUser } from "../api/trpc";
import { DomainError, errorTable } from "../errors";
import { usdDecimal } from "../ledger/money";
import { accountBelongsTo } from "../ledger/reports";
import { trialBalance } from "../ledger/service";
import { requirePermission } from "../orgs/access";
import { journalPages, statementPages } from "./books";
import { journalFilterInput, statementExportInput, trialBalanceExportInput } from "./inputs";
import { csvStream, type Cell } from "../lib/csv";

/**
 * The CSV exports behind app/api/finance/<what>/route.ts. Authorised with the same
 * functions as the tRPC procedures: the journal and trial balance are the platform's
 * books (platform finance); a statement is of any account for platform finance, and of
 * the organisation's own accounts for its owners and finance members. Rows stream
 * page by page, so a large range never sits in memory.
 */
export type ExportKind = "journal" | "trial-balance" | "statement";

function fail(status: number, message: string): Response {
  return Response.json({ error: message }, { status });
}

function paramsOf(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of url.searchParams) if (v !== "") out[k] = v;
  return out;
}

function csvResponse(filename: string, stream: ReadableStream<Uint8Array>): Response {
  return new Response(stream, {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${filename}"`,
      "cache-control": "no-store",
    },
  });
}

const stamp = (d: Date) => d.toISOString().slice(0, 10);

async function* once<T>(value: T): AsyncGenerator<T> {
  yield value;
}

export async function exportCsv(db: Db, { user, kind, url }: { user: SessionUser | null; kind: ExportKind; url: URL }): Promise<Response> {
  if (!user) return fail(401, "Sign in first");
  try {
    const params = paramsOf(url);
    if (kind === "journal") {
      await requirePermission(db, { userId: user.id, action: "books.read" });
      const filter = parse(journalFilterInput, params);
      const rows = async function* () {
        for await (const page of journalPages(db, filter)) {
          yield page.map((t): Cell[] => [
            t.id,
            t.createdAt,
            t.type,
            t.code,
            usdDecimal(t.amountNano),
            t.amountNano,
            t.debit.accountId,
            t.debit.kind,
            t.debit.orgName,
            t.credit.accountId,
            t.credit.kind,
            t.credit.orgName,
            t.refKind,
            t.refId,
            t.pendingId,
          ]);
        }
      };
      const header = [
        "transfer_id",
        "created_at",
        "type",
        "code",
        "amount_usd",
        "amount_nano",
        "debit_account_id",
        "debit_kind",
        "debit_org",
        "credit_account_id",
        "credit_kind",
        "credit_org",
        "ref_kind",
        "ref_id",
        "pending_id",
      ];
      return csvResponse(`journal-${stamp(new Date())}.csv`, csvStream(header, rows()));
    }
    if (kind === "trial-balance") {
      await requirePermission(db, { userId: user.id, action: "books.read" });
      const { at } = parse(trialBalanceExportInput, params);
      const tb = await trialBalance(db, { at: at ?? new Date() });
      const lines: Cell[][] = tb.kinds.map((k) => [
        k.kind,
        k.currency,
        k.accounts,
        usdDecimal(k.debitsNano),
        usdDecimal(k.creditsNano),
        usdDecimal(k.balanceNano),
        k.debitsNano,
        k.creditsNano,
        k.balanceNano,
      ]);
      for (const t of tb.totals)
        lines.push([
          "total",
          t.currency,
          null,
          usdDecimal(t.debitsNano),
          usdDecimal(t.creditsNano),
          t.balanced ? "balanced" : "NOT BALANCED",
          t.debitsNano,
          t.creditsNano,
          null,
        ]);
      const header = ["kind", "currency", "accounts", "debits_usd", "credits_usd", "balance_usd", "debits_nano", "credits_nano", "balance_nano"];
      return csvResponse(`trial-balance-${stamp(tb.at)}.csv`, csvStream(header, once(lines)));
    }
    const p = parse(statementExportInput, params);
    await authorizeStatement(db, user.id, p.accountId);
    const rows = async function* () {
      let first = true;
      for await (const page of statementPages(db, p)) {
        const out: Cell[][] = [];
        if (first) {
          first = false;
          out.push(["opening", p.from ?? null, null, null, null, null, null, null, usdDecimal(page.openingNano), null, null, page.openingNano]);
        }
        for (const l of page.lines) {
          out.push([
            l.transferId,
            l.createdAt,
            l.code,
            l.refKind,
            l.refId,
            l.side,
            usdDecimal(l.amountNano),
            usdDecimal(l.deltaNano),
            usdDecimal(l.balanceNano),
            l.amountNano,
            l.deltaNano,
            l.balanceNano,
          ]);
        }
        yield out;
      }
    };
    const header = [
      "transfer_id",
      "created_at",
      "code",
      "ref_kind",
      "ref_id",
      "side",
      "amount_usd",
      "change_usd",
      "balance_usd",
      "amount_nano",
      "change_nano",
      "balance_nano",
    ];
    return csvResponse(`statement-${p.accountId}-${stamp(new Date())}.csv`, csvStream(header, rows()));
  } catch (err) {
    if (err instanceof DomainError) return fail(errorTable[err.code].http, err.message);
    throw err;
  }
}

function parse<T extends z.ZodType>(schema: T, params: Record<string, string>): z.infer<T> {
  const r = schema.safeParse(params);
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.join(".");
    throw new DomainError("INVALID_INPUT", `${field}: ${issue.message}`, field);
  }
  return r.data;
}

/** Platform finance reads any account; an organisation's owners and finance members read their own. */
async function authorizeStatement(db: Db, userId: string, accountId: string): Promise<void> {
  try {
    await requirePermission(db, { userId, action: "books.read" });
    return;
  } catch (err) {
    if (!(err instanceof DomainError)) throw err;
  }
  const org = await requirePermission(db, { userId, action: "finance.read" });
  // Same answer for another organisation's account and a missing one: ids do not leak.
  if (!(await accountBelongsTo(db, { orgId: org.id, accountId }))) throw new DomainError("NOT_FOUND", "Account not found", "accountId");
}
