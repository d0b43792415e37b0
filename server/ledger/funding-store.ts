import { sql } from "drizzle-orm";
import type { DbOrTx, Tx } from "../../db/client";
import { nameUuid } from "../lib/ids";
import { pgArray } from "../lib/pg-array";
import { parseTimestamp } from "../lib/timestamps";
import { fundOldestFirst, perProvider, unfundNewestFirst, type Lot, type Move } from "./funding";
import type { TransferInput, TransferRef } from "./posting";
import { ensureAccount } from "./accounts";

/**
 * The funding rule's postings (server/ledger/funding.ts). Every function here runs in the
 * transaction that moves the buyer's receivable, after that account is locked, so one
 * buyer's lots change one transaction at a time; the transfers they return are posted by
 * the caller in the same posting as the receivable's own.
 */

type Row = Record<string, unknown>;

const toLot = (r: Row): Lot => ({
  settlementId: r.settlement_id as string,
  providerOrgId: r.provider_org_id as string,
  shareNano: r.share_nano as bigint,
  unfundedNano: r.unfunded_nano as bigint,
});

export type UnfundedShare = { settlementId: string; buyerOrgId: string; providerOrgId: string; shareNano: bigint; unfundedNano: bigint };

/** Settlement: the part of a provider share settled on the receivable, set aside (provider_payable → provider_unfunded). */
export function setAsideTransfer(share: UnfundedShare, payableId: string, unfundedId: string): TransferInput {
  return {
    id: nameUuid("funding-set-aside", share.settlementId),
    debitAccountId: payableId,
    creditAccountId: unfundedId,
    amountNano: share.unfundedNano,
    code: "funding",
    ref: { kind: "earning_lot", id: share.settlementId },
  };
}

/** Settlement: the lots of the shares it set aside, dated with the settlement. */
export async function recordUnfundedShares(tx: Tx, p: { shares: readonly UnfundedShare[]; settledAt: Date }): Promise<void> {
  const { shares, settledAt } = p;
  if (!shares.length) return;
  const col = <T extends string | bigint>(f: (s: UnfundedShare) => T) => pgArray(shares.map(f));
  await tx.execute(sql`
    insert into earning_lots (settlement_id, buyer_org_id, provider_org_id, settled_at, share_nano, unfunded_nano)
    select s, b, p, ${settledAt}, sh, u
    from unnest(${col((s) => s.settlementId)}::uuid[], ${col((s) => s.buyerOrgId)}::uuid[], ${col((s) => s.providerOrgId)}::uuid[],
                ${col((s) => s.shareNano)}::int8[], ${col((s) => s.unfundedNano)}::int8[]) as x(s, b, p, sh, u)`);
}

type Source = { buyerOrgId: string; amountNano: bigint; sourceId: string; ref: TransferRef };

/** One transfer per provider for a set of moves, between its unfunded and funded payables. */
async function transfersFor(tx: Tx, moves: readonly Move[], direction: "fund" | "unfund", source: Source): Promise<TransferInput[]> {
  const out: TransferInput[] = [];
  for (const [providerOrgId, amountNano] of perProvider(moves)) {
    const payable = await ensureAccount(tx, { orgId: providerOrgId, kind: "provider_payable" });
    const unfunded = await ensureAccount(tx, { orgId: providerOrgId, kind: "provider_unfunded" });
    out.push({
      id: nameUuid(direction, source.sourceId, providerOrgId),
      debitAccountId: direction === "fund" ? unfunded.id : payable.id,
      creditAccountId: direction === "fund" ? payable.id : unfunded.id,
      amountNano,
      code: "funding",
      ref: source.ref,
    });
  }
  return out;
}

async function applyMoves(tx: Tx, moves: readonly Move[], sign: 1n | -1n): Promise<void> {
  if (!moves.length) return;
  await tx.execute(sql`
    update earning_lots l set unfunded_nano = l.unfunded_nano - ${sign} * m.amount
    from unnest(${pgArray(moves.map((m) => m.settlementId))}::uuid[], ${pgArray(moves.map((m) => m.amountNano))}::int8[]) as m(id, amount)
    where l.settlement_id = m.id`);
}

/**
 * A repayment of `amountNano` of the buyer's receivable: funds the buyer's waiting lots
 * oldest first. Returns the transfers provider_unfunded → provider_payable to post.
 */
export async function fundRepayment(tx: Tx, source: Source): Promise<TransferInput[]> {
  const { rows } = await tx.execute(
    sql`select settlement_id, provider_org_id, share_nano, unfunded_nano from earning_lots
        where buyer_org_id = ${source.buyerOrgId}::uuid and unfunded_nano > 0
        order by settled_at, settlement_id for update`,
  );
  const moves = fundOldestFirst(rows.map(toLot), source.amountNano);
  await applyMoves(tx, moves, 1n);
  return transfersFor(tx, moves, "fund", source);
}

/** Settlements walked per query while looking for funded shares to take back (clawbacks are rare). */
const CLAWBACK_PAGE = 500;

/**
 * A clawback of `amountNano` past the buyer's credit: unfunds the buyer's funded shares
 * newest first, no provider past its funded payable. Returns the transfers
 * provider_payable → provider_unfunded to post.
 */
export async function unfundClawback(tx: Tx, source: Source): Promise<TransferInput[]> {
  const room = new Map<string, bigint>();
  const moves: Move[] = [];
  let left = source.amountNano;
  let before: { at: string; id: string } | null = null;
  while (left > 0n) {
    const { rows }: { rows: Row[] } = await tx.execute(
      sql`select s.id as settlement_id, s.provider_org_id, s.created_at::text as at, (s.cost_nano - s.fee_nano)::int8 as share_nano,
                 coalesce(l.unfunded_nano, 0)::int8 as unfunded_nano
          from usage_settlements s left join earning_lots l on l.settlement_id = s.id
          where s.buyer_org_id = ${source.buyerOrgId}::uuid
            ${before ? sql`and (s.created_at, s.id) < (${before.at}::timestamptz, ${before.id}::uuid)` : sql``}
          order by s.created_at desc, s.id desc limit ${CLAWBACK_PAGE}`,
    );
    if (!rows.length) break;
    const last: Row = rows[rows.length - 1]!;
    before = { at: last.at as string, id: last.settlement_id as string };
    const lots = rows.map(toLot);
    const fresh = [...new Set(lots.map((l) => l.providerOrgId))].filter((p) => !room.has(p));
    for (const [p, v] of await fundedRoom(tx, fresh)) room.set(p, v);
    const page = unfundNewestFirst(lots, left, room);
    for (const m of page) {
      room.set(m.providerOrgId, room.get(m.providerOrgId)! - m.amountNano);
      left -= m.amountNano;
      moves.push(m);
    }
    const meta = new Map(rows.map((r) => [r.settlement_id as string, r]));
    await upsertLots(tx, page, source.buyerOrgId, meta);
  }
  return transfersFor(tx, moves, "unfund", source);
}

/** Each provider's funded payable not yet paid out or held, locked (id order) until the posting. */
async function fundedRoom(tx: Tx, providerOrgIds: readonly string[]): Promise<Map<string, bigint>> {
  if (!providerOrgIds.length) return new Map();
  const { rows } = await tx.execute(
    sql`select org_id, (credits_posted - debits_posted - debits_pending)::int8 as room from ledger_accounts
        where kind = 'provider_payable' and org_id = any(${pgArray([...providerOrgIds])}::uuid[]) order by id for update`,
  );
  return new Map(rows.map((r) => [r.org_id as string, r.room as bigint]));
}

async function upsertLots(tx: Tx, moves: readonly Move[], buyerOrgId: string, meta: Map<string, Row>): Promise<void> {
  if (!moves.length) return;
  const col = <T extends string | bigint>(f: (m: Move) => T) => pgArray(moves.map(f));
  await tx.execute(sql`
    insert into earning_lots (settlement_id, buyer_org_id, provider_org_id, settled_at, share_nano, unfunded_nano)
    select s, ${buyerOrgId}::uuid, p, at, sh, u
    from unnest(${col((m) => m.settlementId)}::uuid[], ${col((m) => m.providerOrgId)}::uuid[],
                ${col((m) => meta.get(m.settlementId)!.at as string)}::timestamptz[],
                ${col((m) => meta.get(m.settlementId)!.share_nano as bigint)}::int8[], ${col((m) => m.amountNano)}::int8[]) as x(s, p, at, sh, u)
    on conflict (settlement_id) do update set unfunded_nano = earning_lots.unfunded_nano + excluded.unfunded_nano`);
}

export type WaitingEarnings = { buyerOrgId: string; lots: number; unfundedNano: bigint; oldestAt: Date };

/** A provider's earnings waiting for buyers' money, per buyer (what the earnings page explains). */
export async function waitingEarnings(db: DbOrTx, p: { providerOrgId: string }): Promise<WaitingEarnings[]> {
  const { providerOrgId } = p;
  const { rows } = await db.execute(
    sql`select buyer_org_id, count(*)::int as lots, sum(unfunded_nano)::int8 as unfunded, min(settled_at)::text as oldest
        from earning_lots where provider_org_id = ${providerOrgId}::uuid and unfunded_nano > 0
        group by buyer_org_id order by min(settled_at)`,
  );
  return rows.map((r) => ({
    buyerOrgId: r.buyer_org_id as string,
    lots: r.lots as number,
    unfundedNano: r.unfunded as bigint,
    oldestAt: parseTimestamp(r.oldest),
  }));
}
