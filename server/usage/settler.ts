import { sql } from "drizzle-orm";
import type { Db, Tx } from "../../db/client";
import { rollupUpserts, USAGE_EVENT_DERIVED } from "../rollups/upserts";
import { keySpendUpsert } from "../keys/spend-counters";
import { recordUnfundedShares, setAsideTransfer, type UnfundedShare } from "../ledger/funding-store";
import { lockAccounts } from "../ledger/locks";
import { lockHolds, voidPendingBatch } from "../ledger/pending";
import { buyerPosition } from "../ledger/position";
import { MAX_TRANSFERS_PER_POSTING, type TransferInput } from "../ledger/posting";
import { postTransfersBatch } from "../ledger/postings";
import { nameUuid, uuidv7 } from "../lib/ids";
import { processLogger } from "../lib/logger";
import { pgArray } from "../lib/pg-array";
import { consumeHold, fromCredits, MAX_EVENT_AGE_MS, splitGroups, windowFeeLegId, type SettlementGroup } from "./rules";
import { accountIds, accountOf, asDate, withRetry, type AccountIds, type AccountNeed } from "./store";

/**
 * Stage 2 of settlement: a window takes every committed, unsettled batch (stage 1,
 * ./ingest.ts) and settles it in one transaction, so a window that fails or dies leaves
 * nothing and the next one settles its batches once:
 *
 *  1. lock and mark the batches with the window's id;
 *  2. one statement reads their events, derives per-event values once, upserts every
 *     rollup and key spend counter once per key for the whole window, writes one
 *     usage_settlements row per (buyer, provider) and returns the totals per pair and per
 *     reservation;
 *  3. each spent reservation's hold is voided once and its remainder held again;
 *  4. per buyer, buyer_credits → usage_clearing for what the credit covers and
 *     buyer_receivable → usage_clearing for the rest; per provider usage_clearing →
 *     provider_payable (cost − fee) and → platform_revenue (fee); the provider share of
 *     what went to the receivable is set aside (pay when paid), all in one batched posting.
 *
 * Windows are per shard (usage_batches.shard: the usage bus shard a batch came from, 0 over
 * HTTP): a window takes only its shard's batches, under an advisory lock keyed by the shard,
 * so one window per shard runs at a time and windows of different shards run at once.
 * Locks: the batches (the shard's own), then rollup rows (each upsert in key order),
 * reservations → holds → ledger accounts, each in id order (the order release and reserve
 * take), so concurrent windows never deadlock; the platform's accounts (usage_clearing,
 * platform_revenue, usage_holds) are in every window, so their tails run one after another.
 */

/** With the shard as the second key: the advisory lock one settlement window of that shard holds at a time. */
const SETTLER_LOCK = sql`hashtext('tm_usage_settler')`;
/** Most batches one window takes (a window past this leaves the rest to the next). */
export const MAX_WINDOW_BATCHES = 200;

/** The moments of a window a crash test stops the process at (each inside the window's transaction). */
export type WindowPoint = "after-batches" | "after-rollups" | "after-voids" | "after-posting" | "before-commit";
export type WindowOptions = {
  /** The shard whose batches it takes (0, the default: reports over HTTP). */
  shard?: number;
  wait?: boolean;
  now?: () => Date;
  probe?: (point: WindowPoint) => Promise<void> | void;
};

export type WindowResult = {
  windowId: string;
  shard: number;
  batches: number;
  events: number;
  costNano: bigint;
  lagMs: number;
  /** The batches it settled (`usage_batches.seq`) and the ledger transfers it posted (their reference is the window). */
  batchSeqs: number[];
  transferIds: string[];
};

/**
 * Settles one window of a shard's unsettled batches. With `wait`, waits for a running window
 * of the shard to finish first; without, returns null when another settler holds the shard's
 * lock. Returns null when nothing waits.
 */
export async function settleWindow(db: Db, opts: WindowOptions = {}): Promise<WindowResult | null> {
  const shard = opts.shard ?? 0;
  const w = await withRetry(() =>
    db.transaction(async (tx) => {
      if (opts.wait) await tx.execute(sql`select pg_advisory_xact_lock(${SETTLER_LOCK}, ${shard}::int4)`);
      else {
        const { rows } = await tx.execute<{ locked: boolean }>(sql`select pg_try_advisory_xact_lock(${SETTLER_LOCK}, ${shard}::int4) as locked`);
        if (!rows[0]!.locked) return null;
      }
      return settleIn(db, tx, shard, (opts.now ?? (() => new Date()))(), opts.probe ?? (() => undefined));
    }),
  );
  // After commit, so a line means the window is in the ledger: an event's batch (the ingest line) leads here, and on to its transfers.
  if (w)
    processLogger().info(
      {
        windowId: w.windowId,
        shard,
        batchSeqs: w.batchSeqs,
        events: w.events,
        costNano: String(w.costNano),
        lagMs: w.lagMs,
        transferIds: w.transferIds,
      },
      "usage window settled",
    );
  return w;
}

/**
 * Settles windows until no batch accepted up to `seq` waits (every batch, when absent), in
 * every shard: the shards with such batches each settle at once, waiting for a running window.
 */
export async function settleThrough(db: Db, p: { seq?: number } = {}): Promise<void> {
  const { seq } = p;
  for (;;) {
    const { rows } = await db.execute<{ shard: number }>(
      sql`select distinct shard from usage_batches where settled_at is null ${seq === undefined ? sql`` : sql`and seq <= ${seq}`}`,
    );
    if (!rows.length) return;
    await Promise.all(rows.map((r) => settleWindow(db, { shard: r.shard, wait: true })));
  }
}

type Pair = SettlementGroup & { buyerOrgId: string; providerOrgId: string };
type ReservedUse = { reservationId: string; orgId: string; usedNano: bigint };

async function settleIn(db: Db, tx: Tx, shard: number, now: Date, probe: NonNullable<WindowOptions["probe"]>): Promise<WindowResult | null> {
  const { rows: batches } = await tx.execute<{ seq: string; received_at: unknown }>(sql`
    select seq::text, received_at from usage_batches where settled_at is null and shard = ${shard} order by seq limit ${MAX_WINDOW_BATCHES} for update`);
  if (!batches.length) return null;
  const windowId = uuidv7(now.getTime());
  const seqs = batches.map((b) => b.seq);
  const oldest = Math.min(...batches.map((b) => asDate(b.received_at).getTime()));
  await tx.execute(sql`update usage_batches set window_id = ${windowId}, settled_at = ${now} where seq = any(${pgArray(seqs)}::int8[])`);
  await probe("after-batches");
  const { pairs, reserved, events } = await aggregateWindow(tx, windowId, seqs, now);
  await probe("after-rollups");
  const accounts = await accountIds(db, { needs: accountsOf(pairs), via: tx });
  const transferIds = await postWindow(tx, windowId, pairs, reserved, accounts, now, probe);
  const costNano = pairs.reduce((s, p) => s + p.costNano, 0n);
  const feeNano = pairs.reduce((s, p) => s + p.feeNano, 0n);
  const lagMs = Math.max(0, now.getTime() - oldest);
  await tx.execute(sql`
    insert into usage_windows (id, batches, events, cost_nano, fee_nano, lag_ms, created_at)
    values (${windowId}, ${batches.length}, ${events}, ${costNano}, ${feeNano}, ${Math.min(lagMs, 2_147_483_647)}, ${now})`);
  await probe("before-commit");
  return { windowId, shard, batches: batches.length, events, costNano, lagMs, batchSeqs: seqs.map(Number), transferIds };
}

/** Statement 2: the window's events into every rollup and counter, one settlement row per (buyer, provider), totals back. */
async function aggregateWindow(tx: Tx, windowId: string, seqs: readonly string[], now: Date) {
  // Events are at most MAX_EVENT_AGE old when accepted, and their ids made at the request: the id range prunes partitions.
  const oldestId = new Date(now.getTime() - MAX_EVENT_AGE_MS - 2 * 86_400_000);
  const { rows } = await tx.execute<{
    events: number;
    pairs: [string, string, string, string, string, number][] | null;
    reserved: [string, string, string][] | null;
  }>(sql`
WITH ev AS MATERIALIZED (
  SELECT e.id, e.org_id, e.key_id, e.listing_id, e.provider_org_id, e.reservation_id, e.input_tokens, e.output_tokens, e.cached_input_tokens,
         e.cost_nano, e.fee_nano, e.status, e.started_at, ${USAGE_EVENT_DERIVED}
  FROM usage_events e
  WHERE e.batch_seq = any(${pgArray(seqs)}::int8[]) AND e.id >= tm_uuid_floor(${oldestId})
),
${rollupUpserts()},
${keySpendUpsert()},
settlements AS (
  INSERT INTO usage_settlements (id, batch_id, buyer_org_id, provider_org_id, events, cost_nano, fee_nano, created_at)
  -- The window's time (its UUIDv7's first 48 bits) then a digest of the pair: time-ordered ids keep index inserts at the right edge.
  SELECT overlay(md5(${windowId}::text || org_id::text || provider_org_id::text) PLACING left(replace(${windowId}::text, '-', ''), 12) FROM 1 FOR 12)::uuid,
         ${windowId}::uuid, org_id, provider_org_id, count(*), sum(cost_nano)::int8, sum(fee_nano)::int8, ${now}
  FROM ev GROUP BY org_id, provider_org_id
  RETURNING id, buyer_org_id, provider_org_id, cost_nano, fee_nano, events
)
SELECT
  (SELECT count(*)::int FROM ev) AS events,
  (SELECT json_agg(json_build_array(id, buyer_org_id, provider_org_id, cost_nano::text, fee_nano::text, events) ORDER BY buyer_org_id, id) FROM settlements) AS pairs,
  (SELECT json_agg(json_build_array(reservation_id, org_id, used::text)) FROM (
     SELECT reservation_id, org_id, sum(cost_nano) AS used FROM ev WHERE reservation_id IS NOT NULL GROUP BY 1, 2) r) AS reserved`);
  const row = rows[0]!;
  return {
    events: row.events,
    pairs: (row.pairs ?? []).map(
      ([id, buyerOrgId, providerOrgId, cost, fee]): Pair => ({ id, buyerOrgId, providerOrgId, costNano: BigInt(cost), feeNano: BigInt(fee) }),
    ),
    reserved: (row.reserved ?? []).map(([reservationId, orgId, used]): ReservedUse => ({ reservationId, orgId, usedNano: BigInt(used) })),
  };
}

function accountsOf(pairs: readonly Pair[]): AccountNeed[] {
  const needs: AccountNeed[] = [
    { orgId: null, kind: "platform_revenue" },
    { orgId: null, kind: "usage_holds" },
    { orgId: null, kind: "usage_clearing" },
  ];
  // Sorted: concurrent windows that create the same new accounts insert them in one order.
  for (const org of [...new Set(pairs.map((p) => p.buyerOrgId))].sort())
    needs.push({ orgId: org, kind: "buyer_credits" }, { orgId: org, kind: "buyer_receivable" });
  for (const org of [...new Set(pairs.map((p) => p.providerOrgId))].sort())
    needs.push({ orgId: org, kind: "provider_payable" }, { orgId: org, kind: "provider_unfunded" });
  return needs;
}

type HeldReservation = {
  id: string;
  orgId: string;
  heldNano: bigint;
  pendingUsageNano: bigint;
  holdTransferId: string | null;
  expiresAt: Date;
  holdOpen: boolean;
};

/** Locks the reservations, then their holds (the order release uses), and reads what they hold. */
async function lockReservations(tx: Tx, ids: readonly string[]): Promise<Map<string, HeldReservation>> {
  const { rows } = await tx.execute<{
    id: string;
    org_id: string;
    held_nano: bigint;
    pending_usage_nano: bigint;
    hold_transfer_id: string | null;
    expires_at: unknown;
    status: string | null;
  }>(sql`
WITH r AS (
  SELECT id, org_id, held_nano, pending_usage_nano, hold_transfer_id, expires_at FROM reservations WHERE id = any(${pgArray(ids)}::uuid[]) ORDER BY id FOR UPDATE
),
p AS (${lockHolds("SELECT hold_transfer_id FROM r")})
SELECT r.*, p.status FROM r LEFT JOIN p ON p.pending_id = r.hold_transfer_id`);
  return new Map(
    rows.map((r) => [
      r.id,
      {
        id: r.id,
        orgId: r.org_id,
        heldNano: BigInt(r.held_nano),
        pendingUsageNano: BigInt(r.pending_usage_nano),
        holdTransferId: r.hold_transfer_id,
        expiresAt: asDate(r.expires_at),
        holdOpen: r.status === "open",
      },
    ]),
  );
}

async function postWindow(
  tx: Tx,
  windowId: string,
  pairs: readonly Pair[],
  reserved: readonly ReservedUse[],
  accounts: AccountIds,
  now: Date,
  probe: NonNullable<WindowOptions["probe"]>,
) {
  const account = (need: AccountNeed) => accountOf(accounts, need);
  const locked = reserved.length ? await lockReservations(tx, [...new Set(reserved.map((r) => r.reservationId))].sort()) : new Map<string, HeldReservation>();
  // Reservations the usage spent from whose hold is still open and unexpired are consumed; late usage simply posts.
  const usage = new Map<string, { reservation: HeldReservation; usedNano: bigint }>();
  const pendingDone = new Map<string, bigint>();
  for (const r of reserved) {
    const res = locked.get(r.reservationId);
    if (!res || res.orgId !== r.orgId) continue;
    if (res.pendingUsageNano > 0n) pendingDone.set(res.id, r.usedNano < res.pendingUsageNano ? r.usedNano : res.pendingUsageNano);
    if (!res.holdTransferId || !res.holdOpen || res.heldNano <= 0n || res.expiresAt.getTime() <= now.getTime()) continue;
    usage.set(res.id, { reservation: res, usedNano: r.usedNano });
  }

  const holdsAccount = account({ orgId: null, kind: "usage_holds" });
  const revenueAccount = account({ orgId: null, kind: "platform_revenue" });
  const clearingAccount = account({ orgId: null, kind: "usage_clearing" });
  const buyers = [...new Set(pairs.map((p) => p.buyerOrgId))];
  const providers = [...new Set(pairs.map((p) => p.providerOrgId))];
  const balances = await lockAccounts(tx, {
    accountIds: [
      holdsAccount,
      revenueAccount,
      clearingAccount,
      ...buyers.flatMap((b) => [account({ orgId: b, kind: "buyer_credits" }), account({ orgId: b, kind: "buyer_receivable" })]),
      ...providers.flatMap((p) => [account({ orgId: p, kind: "provider_payable" }), account({ orgId: p, kind: "provider_unfunded" })]),
    ],
  });

  // Consume: void each hold, re-hold what the usage left of it.
  const voided = await voidPendingBatch(tx, {
    items: [...usage.values()].map(({ reservation }) => ({
      id: nameUuid("reservation-void", reservation.holdTransferId!),
      pendingId: reservation.holdTransferId!,
    })),
    now,
  });
  await probe("after-voids");
  const transfers: TransferInput[] = [];
  const reservationUpdates: { id: string; heldNano: bigint; consumedNano: bigint; holdTransferId: string | null; pendingDoneNano: bigint }[] = [];
  const voidedBy = new Map<string, bigint>();
  const newHoldsBy = new Map<string, bigint>();
  const add = (m: Map<string, bigint>, k: string, v: bigint) => m.set(k, (m.get(k) ?? 0n) + v);
  for (const { reservation, usedNano } of usage.values()) {
    if (!voided.has(reservation.holdTransferId!)) continue;
    const { coveredNano, remainingNano } = consumeHold(reservation.heldNano, usedNano);
    add(voidedBy, reservation.orgId, reservation.heldNano);
    let holdTransferId: string | null = null;
    if (remainingNano > 0n) {
      holdTransferId = nameUuid("reservation-hold", reservation.holdTransferId!);
      add(newHoldsBy, reservation.orgId, remainingNano);
      transfers.push({
        id: holdTransferId,
        debitAccountId: account({ orgId: reservation.orgId, kind: "buyer_credits" }),
        creditAccountId: holdsAccount,
        amountNano: remainingNano,
        code: "reservation",
        ref: { kind: "reservation", id: reservation.id },
        pending: { expiresAt: reservation.expiresAt },
      });
    }
    reservationUpdates.push({
      id: reservation.id,
      heldNano: remainingNano,
      consumedNano: coveredNano,
      holdTransferId,
      pendingDoneNano: pendingDone.get(reservation.id) ?? 0n,
    });
    pendingDone.delete(reservation.id);
  }
  // Provider-reported usage whose hold had already ended: no longer pending against it.
  for (const [id, done] of pendingDone) {
    const r = locked.get(id)!;
    reservationUpdates.push({ id, heldNano: r.heldNano, consumedNano: 0n, holdTransferId: r.holdTransferId, pendingDoneNano: done });
  }

  const ref = { kind: "usage_window", id: windowId };
  const leg = (debitAccountId: string, creditAccountId: string, amountNano: bigint) => {
    // Fresh time-ordered ids: a retried window is a new window, so these transfers are never replayed.
    if (amountNano > 0n) transfers.push({ id: uuidv7(now.getTime()), debitAccountId, creditAccountId, amountNano, code: "usage", ref });
  };
  const toPayable = new Map<string, bigint>();
  const toRevenue = new Map<string, bigint>();
  const unfunded: UnfundedShare[] = [];
  const setAside: TransferInput[] = [];
  const pairsOf = new Map<string, Pair[]>();
  for (const p of pairs) {
    const list = pairsOf.get(p.buyerOrgId);
    if (list) list.push(p);
    else pairsOf.set(p.buyerOrgId, [p]);
  }
  for (const [buyer, own] of pairsOf) {
    const credits = balances.get(account({ orgId: buyer, kind: "buyer_credits" }))!;
    const usageNano = own.reduce((s, p) => s + p.costNano, 0n);
    const { spendableNano } = buyerPosition({ credits, receivable: null, releasingNano: voidedBy.get(buyer) ?? 0n });
    const legs = splitGroups(own, fromCredits(usageNano, spendableNano, newHoldsBy.get(buyer) ?? 0n));
    let fromCreditsNano = 0n;
    let fromReceivableNano = 0n;
    own.forEach((p, i) => {
      const l = legs[i]!;
      fromCreditsNano += l.creditsToProviderNano + l.creditsToPlatformNano;
      fromReceivableNano += l.receivableToProviderNano + l.receivableToPlatformNano;
      add(toPayable, p.providerOrgId, p.costNano - p.feeNano);
      add(toRevenue, p.providerOrgId, p.feeNano);
      if (l.receivableToProviderNano > 0n) {
        // Pay when paid: the share the buyer's money does not yet stand behind waits apart.
        const share = {
          settlementId: p.id,
          buyerOrgId: buyer,
          providerOrgId: p.providerOrgId,
          shareNano: p.costNano - p.feeNano,
          unfundedNano: l.receivableToProviderNano,
        };
        unfunded.push(share);
        setAside.push(
          setAsideTransfer(
            share,
            account({ orgId: p.providerOrgId, kind: "provider_payable" }),
            account({ orgId: p.providerOrgId, kind: "provider_unfunded" }),
          ),
        );
      }
    });
    leg(credits.id, clearingAccount, fromCreditsNano);
    leg(account({ orgId: buyer, kind: "buyer_receivable" }), clearingAccount, fromReceivableNano);
  }
  for (const provider of providers) {
    leg(clearingAccount, account({ orgId: provider, kind: "provider_payable" }), toPayable.get(provider) ?? 0n);
    const fee = toRevenue.get(provider) ?? 0n;
    if (fee > 0n)
      transfers.push({
        id: windowFeeLegId(windowId, provider),
        debitAccountId: clearingAccount,
        creditAccountId: revenueAccount,
        amountNano: fee,
        code: "usage",
        ref,
      });
  }
  transfers.push(...setAside);

  // New holds first: each posting statement checks limits on its own net effect, and the holds always fit.
  for (let i = 0; i < transfers.length; i += MAX_TRANSFERS_PER_POSTING) {
    await postTransfersBatch(tx, { transfers: transfers.slice(i, i + MAX_TRANSFERS_PER_POSTING), now });
  }
  await recordUnfundedShares(tx, { shares: unfunded, settledAt: now });
  await probe("after-posting");
  if (reservationUpdates.length) {
    const col = (f: (u: (typeof reservationUpdates)[number]) => string | bigint | null) => pgArray(reservationUpdates.map(f));
    await tx.execute(sql`
      update reservations r set held_nano = u.held, consumed_nano = r.consumed_nano + u.consumed, hold_transfer_id = u.hold,
                                pending_usage_nano = r.pending_usage_nano - u.done
      from unnest(${col((u) => u.id)}::uuid[], ${col((u) => u.heldNano)}::int8[], ${col((u) => u.consumedNano)}::int8[],
                  ${col((u) => u.holdTransferId)}::uuid[], ${col((u) => u.pendingDoneNano)}::int8[]) as u(id, held, consumed, hold, done)
      where r.id = u.id`);
  }
  return transfers.map((t) => t.id);
}
