import { sql } from "drizzle-orm";
import type { z } from "zod";
import type { Db } from "../../db/client";
import type { KeyLimitPeriod } from "../../db/schema/keys";
import type { ServiceIdentity } from "../auth/service-tokens";
import { DomainError } from "../errors";
import { currentPeriodSpend } from "../keys/service";
import { keyStatus } from "../keys/status";
import { nameUuid } from "../lib/ids";
import { lockAccounts } from "../ledger/locks";
import { holdIsOpen, voidPendingBatch } from "../ledger/pending";
import { buyerPosition } from "../ledger/position";
import { createPending } from "../ledger/postings";
import type { releaseInput, releaseOutput, reserveInput, reserveOutput } from "./contract";
import { decideGrant, type LimitedBy } from "./rules";
import { reserveScopeProblem, serviceOrgId } from "./service-scope";
import { lastBatchSeq } from "./backlog";
import { settleThrough } from "./settler";
import { accountIds, accountOf, asDate, withRetry } from "./store";

/**
 * Credit reservations (docs/DESIGN.md "Credit control"): a proxy holds part of an
 * organisation's credit for a key before serving, as a pending ledger transfer
 * buyer_credits → usage_holds that settlement consumes, `release` returns, or the
 * ledger's sweeper expires (returning the remainder exactly once).
 */

type ReserveInput = z.infer<typeof reserveInput>;
type ReserveOutput = z.infer<typeof reserveOutput>;

type ReservationRow = { id: string; key_id: string; service_org_id: string | null; amount_nano: bigint; limited_by: LimitedBy | null; expires_at: unknown };

/** Who asks: the platform's proxy when absent. */
export type ReservationCaller = { service?: ServiceIdentity; now?: Date };

const toOutput = (r: ReservationRow): ReserveOutput => ({
  id: r.id,
  grantedNano: r.amount_nano,
  expiresAt: asDate(r.expires_at),
  limitedBy: r.limited_by,
});

/**
 * Grants min(asked, the organisation's available balance, the key's remaining period limit),
 * atomically: the buyer's accounts and the key's lineage are locked while deciding, and the
 * ledger's conditional update refuses a hold past the credit limit. A blocked organisation
 * (available < 0) gets 0. Idempotent by `input.id` (the same id for another key or caller is a
 * CONFLICT). A provider's token holds credit only for its own published listings (FORBIDDEN).
 */
export async function reserve(db: Db, input: ReserveInput & ReservationCaller): Promise<ReserveOutput> {
  const now = input.now ?? new Date();
  const id = input.id.toLowerCase();
  const keyId = input.keyId.toLowerCase();
  const serviceOrg = input.service ? await serviceOrgId(db, { service: input.service }) : null;
  if (serviceOrg) {
    const problem = await reserveScopeProblem(db, { providerOrgId: serviceOrg, listingId: input.listingId });
    if (problem) throw new DomainError("FORBIDDEN", problem, "listingId");
  }
  const existing = await findReservation(db, id);
  if (existing) return replay(existing, keyId, serviceOrg);
  const { rows: keys } = await db.execute<{
    id: string;
    org_id: string;
    lineage_id: string;
    spend_limit_nano: bigint | null;
    limit_period: KeyLimitPeriod | null;
    revoked_at: unknown;
    expires_at: unknown;
  }>(sql`select id, org_id, lineage_id, spend_limit_nano, limit_period, revoked_at, expires_at from api_keys where id = ${keyId}`);
  const key = keys[0];
  if (!key) throw new DomainError("NOT_FOUND", "keyId: no such API key", "keyId");
  const status = keyStatus({ revokedAt: key.revoked_at ? asDate(key.revoked_at) : null, expiresAt: key.expires_at ? asDate(key.expires_at) : null }, now);
  if (status !== "active") throw new DomainError("FORBIDDEN", `keyId: the key is ${status}`, "keyId");
  const account = await accountIds(db, {
    needs: [
      { orgId: key.org_id, kind: "buyer_credits" },
      { orgId: key.org_id, kind: "buyer_receivable" },
      { orgId: null, kind: "usage_holds" },
    ],
  });
  const creditsId = accountOf(account, { orgId: key.org_id, kind: "buyer_credits" });
  const receivableId = accountOf(account, { orgId: key.org_id, kind: "buyer_receivable" });
  const holdsId = accountOf(account, { orgId: null, kind: "usage_holds" });
  const expiresAt = new Date(now.getTime() + input.ttlSeconds * 1000);

  try {
    return await withRetry(() =>
      db.transaction(async (tx) => {
        // The lineage first (serialises grants against one key limit), then the accounts in id order.
        if (key.spend_limit_nano !== null) {
          await tx.execute(sql`select id from api_keys where lineage_id = ${key.lineage_id} order by id for update`);
        }
        const accounts = await lockAccounts(tx, { accountIds: [creditsId, receivableId, holdsId] });
        const available = buyerPosition({ credits: accounts.get(creditsId)!, receivable: accounts.get(receivableId)! }).availableNano;
        let keyRemaining: bigint | null = null;
        if (key.spend_limit_nano !== null && key.limit_period !== null) {
          const spent = await currentPeriodSpend(tx, { lineageId: key.lineage_id, limitPeriod: key.limit_period, now });
          const { rows: held } = await tx.execute<{ held: bigint }>(sql`
            select coalesce(sum(r.held_nano), 0)::int8 as held from reservations r
            where ${holdIsOpen("r.hold_transfer_id")} and r.lineage_id = ${key.lineage_id} and r.expires_at > ${now}`);
          keyRemaining = key.spend_limit_nano - spent - held[0]!.held;
        }
        const { grantedNano, limitedBy } = decideGrant(input.amountNano, available, keyRemaining);
        let holdTransferId: string | null = null;
        if (grantedNano > 0n) {
          holdTransferId = nameUuid("reservation-hold", id);
          await createPending(tx, {
            id: holdTransferId,
            debitAccountId: creditsId,
            creditAccountId: holdsId,
            amountNano: grantedNano,
            code: "reservation",
            ref: { kind: "reservation", id },
            expiresAt,
            now,
          });
        }
        const { rows } = await tx.execute<ReservationRow>(sql`
          insert into reservations (id, org_id, key_id, lineage_id, service_org_id, requested_nano, amount_nano, limited_by, held_nano, hold_transfer_id, expires_at, created_at)
          values (${id}, ${key.org_id}, ${keyId}, ${key.lineage_id}, ${serviceOrg}, ${input.amountNano}, ${grantedNano}, ${limitedBy}, ${grantedNano}, ${holdTransferId}, ${expiresAt}, ${now})
          returning id, key_id, service_org_id, amount_nano, limited_by, expires_at`);
        return toOutput(rows[0]!);
      }),
    );
  } catch (err) {
    // A concurrent reserve with the same id won the insert: answer with its grant.
    const again = await findReservation(db, id);
    if (again) return replay(again, keyId, serviceOrg);
    throw err;
  }
}

async function findReservation(db: Db, id: string): Promise<ReservationRow | undefined> {
  const { rows } = await db.execute<ReservationRow>(
    sql`select id, key_id, service_org_id, amount_nano, limited_by, expires_at from reservations where id = ${id}`,
  );
  return rows[0];
}

function replay(r: ReservationRow, keyId: string, serviceOrg: string | null): ReserveOutput {
  if (r.key_id !== keyId || r.service_org_id !== serviceOrg) throw new DomainError("CONFLICT", "id: this reservation id is already used for another key", "id");
  return toOutput(r);
}

/**
 * Returns `amountNano` (all when absent) of what a reservation still holds to the
 * balance: its hold is voided and the rest, if any, held again. Returns what was
 * released: 0 once nothing is held (released, consumed or expired). A provider's token
 * releases only reservations it made (any other is NOT_FOUND). Waits until every usage
 * batch accepted before the call is settled.
 */
export async function release(db: Db, input: z.infer<typeof releaseInput> & ReservationCaller): Promise<z.infer<typeof releaseOutput>> {
  const now = input.now ?? new Date();
  const id = input.id.toLowerCase();
  const serviceOrg = input.service ? await serviceOrgId(db, { service: input.service }) : null;
  // Usage already acknowledged may be spending this hold: it is settled first (by the settler, or here
  // if it is behind), so release never returns credit that acknowledged usage must spend.
  await settleThrough(db, { seq: await lastBatchSeq(db) });
  return withRetry(() =>
    db.transaction(async (tx) => {
      const { rows } = await tx.execute<{
        org_id: string;
        service_org_id: string | null;
        held_nano: bigint;
        hold_transfer_id: string | null;
        expires_at: unknown;
      }>(sql`select org_id, service_org_id, held_nano, hold_transfer_id, expires_at from reservations where id = ${id} for update`);
      const r = rows[0];
      if (!r || (serviceOrg && r.service_org_id !== serviceOrg)) throw new DomainError("NOT_FOUND", "id: no such reservation", "id");
      const expiresAt = asDate(r.expires_at);
      if (!r.hold_transfer_id || r.held_nano <= 0n || expiresAt.getTime() <= now.getTime()) return { releasedNano: 0n };
      const voided = await voidPendingBatch(tx, { items: [{ id: nameUuid("reservation-void", r.hold_transfer_id), pendingId: r.hold_transfer_id }], now });
      if (!voided.size) return { releasedNano: 0n };
      const releasedNano = input.amountNano === undefined || input.amountNano > r.held_nano ? r.held_nano : input.amountNano;
      const remaining = r.held_nano - releasedNano;
      let holdTransferId: string | null = null;
      if (remaining > 0n) {
        // The ledger account ids are the hold's own (same buyer, same holds account).
        const { rows: hold } = await tx.execute<{ debit_account_id: string; credit_account_id: string }>(
          sql`select debit_account_id, credit_account_id from ledger_transfers where id = ${r.hold_transfer_id}`,
        );
        holdTransferId = nameUuid("reservation-hold", r.hold_transfer_id);
        await createPending(tx, {
          id: holdTransferId,
          debitAccountId: hold[0]!.debit_account_id,
          creditAccountId: hold[0]!.credit_account_id,
          amountNano: remaining,
          code: "reservation",
          ref: { kind: "reservation", id },
          expiresAt,
          now,
        });
      }
      await tx.execute(sql`
        update reservations set released_nano = released_nano + ${releasedNano}, held_nano = ${remaining}, hold_transfer_id = ${holdTransferId}
        where id = ${id}`);
      return { releasedNano };
    }),
  );
}
