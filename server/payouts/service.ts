import { and, eq, isNull, sql } from "drizzle-orm";
import type { Db, DbOrTx } from "../../db/client";
import { connectAccounts, connectPayouts } from "../../db/schema";
import { recordAudit } from "../audit/log";
import { nameUuid } from "../lib/ids";
import { pgArray } from "../lib/pg-array";
import { NANO_PER_CENT } from "../ledger/money";
import { lockAccounts } from "../ledger/locks";
import { providerAvailableNano } from "../ledger/position";
import { PROVIDER_PAYABLES } from "../ledger/reports";
import { ensureAccount, postTransfers } from "../ledger/service";
import type { ConnectApi } from "./connect-api";
import { payableCents, planRun, type RunCandidate, type RunLine } from "./run-plan";

/**
 * Payouts through Stripe Connect. A payout is made in two steps, so that a crash anywhere
 * leaves nothing paid twice and nothing lost:
 *  1. one transaction locks the provider's funded payable, records the payout (status
 *     created) and posts provider_payable → payouts (ref ('connect_payout', id));
 *  2. the Stripe Transfer is created with idempotency key = transfer group = payout id,
 *     and its id recorded. A run resumes every payout left at step 2 first: it looks the
 *     transfer up by its group before creating it, so a crash between Stripe's answer and
 *     the record ends with exactly one transfer and one posting.
 * Outcomes (in transit, paid, failed, reversed) arrive by webhook (./webhooks.ts).
 */

export type ConnectStatus = { accountId: string; detailsSubmitted: boolean; payoutsEnabled: boolean } | null;

export async function connectStatus(db: DbOrTx, { orgId }: { orgId: string }): Promise<ConnectStatus> {
  const [row] = await db.select().from(connectAccounts).where(eq(connectAccounts.orgId, orgId));
  return row ? { accountId: row.stripeAccountId, detailsSubmitted: row.detailsSubmitted, payoutsEnabled: row.payoutsEnabled } : null;
}

/** The onboarding URL for the organisation's Express account, creating the account on first use. */
export async function connectOnboardingLink(db: Db, p: { api: ConnectApi; orgId: string; appUrl: string; local: boolean }): Promise<{ url: string }> {
  let status = await connectStatus(db, p);
  if (!status) {
    const accountId = await p.api.createAccount(p.orgId);
    await db.insert(connectAccounts).values({ orgId: p.orgId, stripeAccountId: accountId, local: p.local }).onConflictDoNothing();
    status = await connectStatus(db, p);
  }
  const url = await p.api.onboardingLink(status!.accountId, {
    returnUrl: `${p.appUrl}/earnings?connect=return`,
    refreshUrl: `${p.appUrl}/earnings?connect=refresh`,
  });
  return { url };
}

/** Applies an account.updated event's state unless a newer one is stored (events come in any order). */
export async function applyAccountState(db: DbOrTx, p: { accountId: string; detailsSubmitted: boolean; payoutsEnabled: boolean; asOf: number }): Promise<void> {
  await db
    .update(connectAccounts)
    .set({ detailsSubmitted: p.detailsSubmitted, payoutsEnabled: p.payoutsEnabled, stateAsOf: p.asOf })
    .where(and(eq(connectAccounts.stripeAccountId, p.accountId), sql`${connectAccounts.stateAsOf} <= ${p.asOf}`));
}

/** Providers with a funded payable, the amount a run would pay each and why others are skipped. */
export async function previewRun(db: DbOrTx, p: { minimumCents: number; orgIds?: readonly string[] | null }): Promise<RunLine[]> {
  const { rows } = await db.execute<{ org_id: string; name: string; funded: bigint; account: string | null; enabled: boolean | null }>(
    sql`select a.org_id, o.name, a.payable_nano as funded, c.stripe_account_id as account, c.payouts_enabled as enabled
        from ${PROVIDER_PAYABLES} a join organizations o on o.id = a.org_id left join connect_accounts c on c.org_id = a.org_id
        where a.payable_nano > 0
          ${p.orgIds ? sql`and a.org_id = any(${pgArray([...p.orgIds])}::uuid[])` : sql``}
        order by o.name, a.org_id`,
  );
  const candidates: RunCandidate[] = rows.map((r) => ({
    orgId: r.org_id,
    orgName: r.name,
    fundedNano: r.funded,
    connect: r.account ? { accountId: r.account, payoutsEnabled: r.enabled === true } : null,
  }));
  return planRun(candidates, p.minimumCents);
}

export type RunInput = { runId: string; orgIds?: readonly string[] | null; minimumCents: number; userId: string | null };
export type ConnectPayout = typeof connectPayouts.$inferSelect;

/**
 * Step 1 for one provider: decides the amount under the payable's lock (so concurrent runs
 * see each other's payouts) and records it with its posting. Returns the run's payout for the
 * provider (an earlier one when the run is repeated), or null when nothing is payable.
 */
async function createPayout(db: Db, run: RunInput, orgId: string): Promise<ConnectPayout | null> {
  return db.transaction(async (tx) => {
    const payable = await ensureAccount(tx, { orgId, kind: "provider_payable" });
    const available = providerAvailableNano((await lockAccounts(tx, { accountIds: [payable.id], strength: "update" })).get(payable.id)!);
    const [existing] = await tx
      .select()
      .from(connectPayouts)
      .where(and(eq(connectPayouts.runId, run.runId), eq(connectPayouts.orgId, orgId)));
    if (existing) return existing;
    const [account] = await tx.select().from(connectAccounts).where(eq(connectAccounts.orgId, orgId));
    if (!account?.payoutsEnabled) return null;
    const amountCents = payableCents(available);
    if (amountCents <= 0 || amountCents < run.minimumCents) return null;
    const id = nameUuid("connect-payout", run.runId, orgId);
    const [row] = await tx
      .insert(connectPayouts)
      .values({ id, runId: run.runId, orgId, stripeAccountId: account.stripeAccountId, amountCents, createdBy: run.userId })
      .returning();
    const payoutsAccount = await ensureAccount(tx, { orgId: null, kind: "payouts" });
    const amountNano = BigInt(amountCents) * NANO_PER_CENT;
    await postTransfers(tx, {
      transfers: [
        {
          id: nameUuid("connect_payout", id),
          debitAccountId: payable.id,
          creditAccountId: payoutsAccount.id,
          amountNano,
          code: "payout",
          ref: { kind: "connect_payout", id },
        },
      ],
    });
    await recordAudit(tx, {
      actorUserId: run.userId,
      orgId,
      action: "payout.connect",
      subject: { kind: "connect_payout", id },
      before: { payableNano: available },
      after: { runId: run.runId, amountCents, stripeAccountId: account.stripeAccountId, payableNano: available - amountNano },
    });
    return row!;
  });
}

export type SendHooks = {
  /** Test hook: runs after Stripe answered and before its transfer id is recorded (to simulate a crash). */
  afterTransfer?: (payoutId: string) => Promise<void> | void;
};

/** Step 2 for every payout recorded but not yet sent (of one run, or all): one Stripe Transfer each. */
export async function sendUnsent(db: Db, p: { api: ConnectApi; runId?: string } & SendHooks): Promise<void> {
  const unsent = await db
    .select()
    .from(connectPayouts)
    .where(and(isNull(connectPayouts.stripeTransferId), eq(connectPayouts.status, "created"), p.runId ? eq(connectPayouts.runId, p.runId) : undefined))
    .orderBy(connectPayouts.createdAt);
  for (const payout of unsent) {
    const transferId =
      (await p.api.findTransfer(payout.id)) ??
      (await p.api.createTransfer({ payoutId: payout.id, accountId: payout.stripeAccountId, amountCents: payout.amountCents }));
    await p.afterTransfer?.(payout.id);
    await db
      .update(connectPayouts)
      .set({
        stripeTransferId: sql`coalesce(${connectPayouts.stripeTransferId}, ${transferId})`,
        status: sql`case when ${connectPayouts.status} = 'created' then 'in_transit'::connect_payout_status else ${connectPayouts.status} end`,
      })
      .where(eq(connectPayouts.id, payout.id));
  }
}

/**
 * A payout run: every provider of the preview that is due (or only `orgIds`), each paid at
 * most once per run id, whatever is retried or run at the same time. Resumes unsent payouts first.
 */
export async function runPayouts(db: Db, { api, afterTransfer, ...run }: RunInput & SendHooks & { api: ConnectApi }): Promise<ConnectPayout[]> {
  const hooks: SendHooks = afterTransfer ? { afterTransfer } : {};
  await sendUnsent(db, { api, ...hooks });
  const lines = await previewRun(db, run);
  for (const line of lines) if (line.decision === "pay") await createPayout(db, run, line.orgId);
  await sendUnsent(db, { api, runId: run.runId, ...hooks });
  return db.select().from(connectPayouts).where(eq(connectPayouts.runId, run.runId)).orderBy(connectPayouts.createdAt);
}
