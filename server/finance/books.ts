import { asc, sql, type SQL } from "drizzle-orm";
import type pg from "pg";
import { PgDialect } from "drizzle-orm/pg-core";
import type { Db, DbOrTx } from "../../db/client";
import { organizations } from "../../db/schema";
import type { LedgerAccountKind, LedgerTransferCode, LedgerTransferType } from "../../db/schema/ledger";
import { DomainError } from "../errors";
import { isUuid } from "../lib/ids";
import { keysetPage, pageFetchSize, pageLimit } from "../lib/paging";
import { parseTimestamp } from "../lib/timestamps";
import { normalSide } from "../ledger/posting";
import { accountKind, TRANSFERS_WITH_SIDES } from "../ledger/reports";
import { usageEventsOfTransfer } from "./usage-queries";

/**
 * The platform's books as finance reads them: accounts, the journal (every transfer,
 * filtered and keyset-paged), and the drill-down from a transfer to its source record.
 */

type Row = Record<string, unknown>;

async function rows(db: DbOrTx, q: SQL): Promise<Row[]> {
  return (await db.execute(q)).rows as Row[];
}

const dialect = new PgDialect();

/**
 * The rows of one query, `pageSize` at a time, from a server-side cursor in a read-only
 * transaction: one plan and one sort however long the result, so exports stream in
 * constant memory and linear time. Holds a pooled connection until the last page is read
 * or the reader stops.
 */
async function* cursorPages(db: Db, query: SQL, pageSize: number): AsyncGenerator<Row[]> {
  const { sql: text, params } = dialect.sqlToQuery(query);
  const client = await (db as Db & { $client: pg.Pool }).$client.connect();
  try {
    await client.query("begin isolation level repeatable read read only");
    await client.query(`declare export_rows no scroll cursor for ${text}`, params);
    for (;;) {
      const found = (await client.query(`fetch ${pageSize} from export_rows`)).rows as Row[];
      if (found.length) yield found;
      if (found.length < pageSize) break;
    }
    await client.query("commit");
  } finally {
    // A reader that stops early leaves the transaction open: rollback closes it and the cursor.
    await client.query("rollback").catch(() => {});
    client.release();
  }
}

export type JournalFilter = {
  code?: LedgerTransferCode | null;
  accountId?: string | null;
  /** Transfers touching any account of this organisation. */
  orgId?: string | null;
  refKind?: string | null;
  refId?: string | null;
  from?: Date | null;
  /** Exclusive. */
  to?: Date | null;
};

export type Side = { accountId: string; kind: LedgerAccountKind; orgId: string | null; orgName: string | null };

export type JournalEntry = {
  id: string;
  createdAt: Date;
  type: LedgerTransferType;
  code: LedgerTransferCode;
  amountNano: bigint;
  debit: Side;
  credit: Side;
  refKind: string | null;
  refId: string | null;
  pendingId: string | null;
};

function filterSql(f: JournalFilter): SQL {
  const parts: SQL[] = [sql`true`];
  if (f.code) parts.push(sql`t.code = ${f.code}::ledger_transfer_code`);
  if (f.accountId) parts.push(sql`(t.debit_account_id = ${f.accountId}::uuid or t.credit_account_id = ${f.accountId}::uuid)`);
  if (f.orgId) parts.push(sql`(d.org_id = ${f.orgId}::uuid or c.org_id = ${f.orgId}::uuid)`);
  if (f.refKind) parts.push(sql`t.ref_kind = ${f.refKind}`);
  if (f.refId) parts.push(sql`t.ref_id = ${f.refId}`);
  if (f.from) parts.push(sql`t.created_at >= ${f.from}`);
  if (f.to) parts.push(sql`t.created_at < ${f.to}`);
  return sql.join(parts, sql` and `);
}

const toEntry = (r: Row): JournalEntry => ({
  id: r.id as string,
  createdAt: parseTimestamp(r.created_at),
  type: r.type as LedgerTransferType,
  code: r.code as LedgerTransferCode,
  amountNano: r.amount_nano as bigint,
  debit: {
    accountId: r.debit_account_id as string,
    kind: r.d_kind as LedgerAccountKind,
    orgId: (r.d_org as string | null) ?? null,
    orgName: (r.d_org_name as string | null) ?? null,
  },
  credit: {
    accountId: r.credit_account_id as string,
    kind: r.c_kind as LedgerAccountKind,
    orgId: (r.c_org as string | null) ?? null,
    orgName: (r.c_org_name as string | null) ?? null,
  },
  refKind: (r.ref_kind as string | null) ?? null,
  refId: (r.ref_id as string | null) ?? null,
  pendingId: (r.pending_id as string | null) ?? null,
});

/**
 * One page of the journal: transfers matching the filter, keyset-paged on (created_at, id)
 * (`after` is the previous page's last transfer id). Newest first for people browsing;
 * oldest first for exports.
 */
export async function journalPage(
  db: DbOrTx,
  page: JournalFilter & { after?: string | null; limit?: number; order?: "asc" | "desc" } = {},
): Promise<{ entries: JournalEntry[]; nextCursor: string | null }> {
  const limit = pageLimit(page.limit, 50, 5000);
  const desc = (page.order ?? "desc") === "desc";
  if (page.after && !isUuid(page.after)) throw new DomainError("INVALID_INPUT", "after: is not a valid cursor", "after");
  const cursor = page.after
    ? desc
      ? sql`and (t.created_at, t.id) < (select created_at, id from ledger_transfers where id = ${page.after}::uuid)`
      : sql`and (t.created_at, t.id) > (select created_at, id from ledger_transfers where id = ${page.after}::uuid)`
    : sql``;
  const found = await rows(
    db,
    sql`select ${TRANSFERS_WITH_SIDES} where ${filterSql(page)} ${cursor}
        order by t.created_at ${sql.raw(desc ? "desc" : "asc")}, t.id ${sql.raw(desc ? "desc" : "asc")}
        limit ${pageFetchSize(limit)}`,
  );
  const { items: entries, nextCursor } = keysetPage(found, limit, (r) => r.id as string, toEntry);
  return { entries, nextCursor };
}

/** Every transfer matching the filter, oldest first, in pages, for streamed exports. */
export async function* journalPages(db: Db, p: JournalFilter & { pageSize?: number } = {}): AsyncGenerator<JournalEntry[]> {
  for await (const page of cursorPages(db, sql`select ${TRANSFERS_WITH_SIDES} where ${filterSql(p)} order by t.created_at, t.id`, p.pageSize ?? 1000)) {
    yield page.map(toEntry);
  }
}

export type StatementLine = {
  transferId: string;
  createdAt: Date;
  code: LedgerTransferCode;
  refKind: string | null;
  refId: string | null;
  side: "debit" | "credit";
  amountNano: bigint;
  /** Change of the posted balance on the account's normal side. */
  deltaNano: bigint;
  balanceNano: bigint;
};

/**
 * An account's posted entries in [from, to) oldest first with the running posted balance,
 * in pages from one cursor (the account indexes carry no time order, so keyset pages would
 * each sort the account again): the opening balance is summed first, then each page
 * continues it. Postings are always dated when they are written, so nothing new can land
 * before a past `from` between the two reads.
 */
export async function* statementPages(
  db: Db,
  p: { accountId: string; from?: Date | null; to?: Date | null; pageSize?: number },
): AsyncGenerator<{ openingNano: bigint; lines: StatementLine[] }> {
  const kind = await accountKind(db, { accountId: p.accountId });
  if (!kind) throw new DomainError("NOT_FOUND", `ledger account ${p.accountId} not found`, "accountId");
  const debitNormal = normalSide(kind) === "debit";
  const from = p.from ?? null;
  const to = p.to ?? null;
  const [opening] = await rows(
    db,
    sql`select coalesce(sum(case when (debit_account_id = ${p.accountId}::uuid) = ${debitNormal} then amount_nano else -amount_nano end), 0)::int8 as b
        from ledger_transfers where (debit_account_id = ${p.accountId}::uuid or credit_account_id = ${p.accountId}::uuid)
          and type in ('single', 'post_pending') and ${from}::timestamptz is not null and created_at < ${from}::timestamptz`,
  );
  const openingNano = opening!.b as bigint;
  let balance = openingNano;
  let yielded = false;
  const query = sql`select id, created_at, code, ref_kind, ref_id, amount_nano, debit_account_id = ${p.accountId}::uuid as is_debit
      from ledger_transfers
      where (debit_account_id = ${p.accountId}::uuid or credit_account_id = ${p.accountId}::uuid) and type in ('single', 'post_pending')
        and (${from}::timestamptz is null or created_at >= ${from}::timestamptz) and (${to}::timestamptz is null or created_at < ${to}::timestamptz)
      order by created_at, id`;
  for await (const found of cursorPages(db, query, p.pageSize ?? 1000)) {
    const lines = found.map((r) => {
      const isDebit = r.is_debit as boolean;
      const amount = r.amount_nano as bigint;
      const deltaNano = isDebit === debitNormal ? amount : -amount;
      balance += deltaNano;
      return {
        transferId: r.id as string,
        createdAt: parseTimestamp(r.created_at),
        code: r.code as LedgerTransferCode,
        refKind: (r.ref_kind as string | null) ?? null,
        refId: (r.ref_id as string | null) ?? null,
        side: isDebit ? ("debit" as const) : ("credit" as const),
        amountNano: amount,
        deltaNano,
        balanceNano: balance,
      };
    });
    yielded = true;
    yield { openingNano, lines };
  }
  if (!yielded) yield { openingNano, lines: [] };
}

export type TransferSource =
  | { kind: "topup"; topup: Row | null; events: { id: string; type: string; receivedAt: Date; payload: unknown }[] }
  | { kind: "payment_adjustment"; adjustments: Row[]; events: { id: string; type: string; receivedAt: Date; payload: unknown }[] }
  | { kind: "payout"; payout: Row | null }
  | { kind: "usage"; ref: { kind: "usage_window" | "usage_settlement"; id: string } }
  | { kind: "reversal"; originalId: string }
  | { kind: "pending"; pendingId: string }
  | { kind: "none" };

async function stripeEventsById(db: DbOrTx, ids: string[]) {
  if (!ids.length) return [];
  const found = await rows(db, sql`select id, type, received_at, payload from stripe_events where id = any(${sql.param(ids)}::text[]) order by received_at`);
  return found.map((r) => ({ id: r.id as string, type: r.type as string, receivedAt: parseTimestamp(r.received_at), payload: r.payload }));
}

async function sourceOf(db: DbOrTx, t: JournalEntry): Promise<TransferSource> {
  switch (t.refKind) {
    case "stripe_checkout_session":
    case "receivable_repayment": {
      const [topup] = await rows(db, sql`select * from topups where checkout_session_id = ${t.refId}`);
      if (!topup && t.refKind === "receivable_repayment") break;
      // The checkout events name the session as their object; every one received is stored.
      const events = await rows(
        db,
        sql`select id from stripe_events where type like 'checkout.session.%' and payload -> 'data' -> 'object' ->> 'id' = ${t.refId}`,
      );
      return {
        kind: "topup",
        topup: topup ?? null,
        events: await stripeEventsById(
          db,
          events.map((e) => e.id as string),
        ),
      };
    }
    case "stripe_charge":
    case "stripe_dispute": {
      const adjustments = await rows(
        db,
        sql`select * from payment_adjustments where external_id = ${t.refId} or external_id like ${`${t.refId}:%`} order by created_at`,
      );
      const ids = [...new Set(adjustments.map((a) => a.stripe_event_id as string))];
      return { kind: "payment_adjustment", adjustments, events: await stripeEventsById(db, ids) };
    }
    case "payout": {
      if (!isUuid(t.refId!)) break;
      const [payout] = await rows(
        db,
        sql`select p.*, o.name as org_name, u.email as created_by_email from payouts p join organizations o on o.id = p.org_id
            left join users u on u.id = p.created_by where p.id = ${t.refId}::uuid`,
      );
      return { kind: "payout", payout: payout ?? null };
    }
    case "usage_window":
    case "usage_settlement":
      return { kind: "usage", ref: { kind: t.refKind, id: t.refId! } };
    case "ledger_transfer":
      return { kind: "reversal", originalId: t.refId! };
  }
  if (t.pendingId) return { kind: "pending", pendingId: t.pendingId };
  return { kind: "none" };
}

/** One transfer with both accounts and the record that caused it (the drill-down). */
export async function transferDetail(db: DbOrTx, { id }: { id: string }) {
  if (!isUuid(id)) throw new DomainError("INVALID_INPUT", "id: is not a valid transfer id", "id");
  const [row] = await rows(db, sql`select ${TRANSFERS_WITH_SIDES} where t.id = ${id}::uuid`);
  if (!row) throw new DomainError("NOT_FOUND", `transfer ${id} not found`, "id");
  const transfer = toEntry(row);
  // Usage (window or legacy) and reservation references are not indexed (ledger_transfers_ref leaves them
  // out); their legs are posted in one transaction, so they share the transfer's millisecond.
  const sameTransaction = transfer.refKind === "usage_window" || transfer.refKind === "usage_settlement" || transfer.refKind === "reservation";
  const at = transfer.createdAt.getTime();
  const related = transfer.refId
    ? (
        await journalPage(db, {
          refKind: transfer.refKind,
          refId: transfer.refId,
          ...(sameTransaction ? { from: new Date(at), to: new Date(at + 1) } : {}),
          limit: 50,
          order: "asc",
        })
      ).entries
    : [];
  return { transfer, source: await sourceOf(db, transfer), related };
}

/** The usage events behind a usage transfer (paged), for the drill-down. */
export async function transferUsageEvents(db: DbOrTx, p: { transferId: string; after?: string | null; limit?: number }) {
  if (!isUuid(p.transferId)) throw new DomainError("INVALID_INPUT", "transferId: is not a valid transfer id", "transferId");
  if (p.after && !isUuid(p.after)) throw new DomainError("INVALID_INPUT", "after: is not a valid cursor", "after");
  return usageEventsOfTransfer(db, { transferId: p.transferId, after: p.after ?? null, limit: pageLimit(p.limit, 100, 1000) });
}

/** Organisations for finance's filters (id and name only). */
export function listOrganizations(db: DbOrTx) {
  return db
    .select({ id: organizations.id, name: organizations.name, isPlatform: organizations.isPlatform })
    .from(organizations)
    .orderBy(asc(organizations.name));
}
