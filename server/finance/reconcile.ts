import { sql } from "drizzle-orm";
import type Stripe from "stripe";
import type { Db, DbOrTx } from "../../db/client";
import { NANO_PER_CENT } from "../ledger/money";
import { pgArray } from "../lib/pg-array";
import { checkInvariants } from "../ledger/service";
import { joinPlatformAccount, pendingByAccount, postedTotals } from "../ledger/reports";
import { payoutDifferences } from "../payouts/reconcile";
import { addTo, compareFigures } from "./compare";
import { anomaliesIn } from "../usage/anomalies";
import { openReservationsByOrg, PLATFORM_PARTY, usageByParty, usageConflicts, type Range } from "./usage-queries";

/**
 * Reconciliation reports: each compares two independent records of the same money and
 * passes only when they agree exactly, listing every difference otherwise.
 */

export type ReportKey = "integrity" | "usage" | "payments" | "reservations" | "conflicts" | "payouts" | "anomalies";

export type ReportDifference = {
  /** What the difference is about: an account, transfer, payment, pair of organisations… */
  ref: string;
  detail: string;
  expectedNano: bigint | null;
  actualNano: bigint | null;
};

export type Report = {
  key: ReportKey;
  title: string;
  status: "pass" | "fail";
  /** Headline figures (nano-USD) both sides were summed to. */
  figures: { label: string; nano: bigint }[];
  differences: ReportDifference[];
};

type Row = Record<string, unknown>;
const rows = async (db: DbOrTx, q: ReturnType<typeof sql>) => (await db.execute(q)).rows as Row[];

const report = (key: ReportKey, title: string, figures: Report["figures"], differences: ReportDifference[]): Report => ({
  key,
  title,
  status: differences.length ? "fail" : "pass",
  figures,
  differences,
});

/**
 * (a) The ledger's invariants, which hold for the whole ledger as it is now (an account's
 * sums cover every transfer it ever had), so the report says so; beside them, what was
 * posted in the range itself. Each violation names its row.
 */
export async function integrityReport(db: Db, range: Range): Promise<Report> {
  const violations = await checkInvariants(db);
  const totals = await postedTotals(db);
  const [inRange] = await rows(
    db,
    sql`select coalesce(sum(amount_nano), 0)::int8 as posted from ledger_transfers
         where type in ('single', 'post_pending') and created_at >= ${range.from.toISOString()}::timestamptz and created_at < ${range.to.toISOString()}::timestamptz`,
  );
  return report(
    "integrity",
    "Ledger integrity (whole ledger, as of now)",
    [
      { label: "Posted in the period (each transfer one debit and one credit)", nano: inRange!.posted as bigint },
      { label: "Posted debits, whole ledger", nano: totals.debitsNano },
      { label: "Posted credits, whole ledger", nano: totals.creditsNano },
    ],
    violations.map((v) => ({ ref: v.ref, detail: `${v.invariant}: ${v.detail}`, expectedNano: null, actualNano: null })),
  );
}

async function orgNames(db: DbOrTx, ids: string[]): Promise<Map<string, string>> {
  if (!ids.length) return new Map();
  const found = await rows(db, sql`select id, name from organizations where id = any(${pgArray(ids)}::uuid[])`);
  return new Map(found.map((r) => [r.id as string, r.name as string]));
}

/**
 * (b) Settled usage equals the usage transfers for the range, per party: each buyer's
 * events' cost vs its legs into usage_clearing, each provider's cost − fee vs its payable
 * legs, the platform's fees vs its revenue legs (legacy settlements' transfers counted the
 * same way); each window's legs net usage_clearing to zero, and every usage transfer names
 * a window or settlement that exists.
 */
export async function usageReport(db: DbOrTx, range: Range): Promise<Report> {
  const u = await usageByParty(db, range);
  const compared = compareFigures(u.eventsNano, u.transfersNano);
  const names = await orgNames(
    db,
    compared.map((d) => d.key.split(":")[1]).filter((id): id is string => !!id),
  );
  const differences: ReportDifference[] = compared.map((d) => {
    const [side, orgId] = d.key.split(":") as [string, string | undefined];
    const who = orgId ? `${side} ${names.get(orgId) ?? orgId}` : side;
    const [events, legs] =
      side === "buyer"
        ? ["events' cost", "legs into usage_clearing"]
        : side === "provider"
          ? ["events' cost less fees", "payable legs"]
          : ["events' fees", "revenue legs"];
    return {
      ref: d.key,
      detail: `${who}: ${events} ${d.expectedNano} vs ${legs} ${d.actualNano}${d.note ? ` (${d.note})` : ""}`,
      expectedNano: d.expectedNano,
      actualNano: d.actualNano,
    };
  });
  for (const w of u.unbalancedWindows) {
    differences.push({
      ref: `window:${w.windowId}`,
      detail: `usage_clearing nets to ${w.netNano} in this window (into it less out of it), not 0`,
      expectedNano: 0n,
      actualNano: w.netNano,
    });
  }
  for (const t of u.unattributed) differences.push({ ref: t.transferId, detail: t.detail, expectedNano: 0n, actualNano: t.amountNano });
  const buyers = (m: Map<string, bigint>) => [...m].filter(([k]) => k.startsWith("buyer:")).reduce((a, [, v]) => a + v, 0n);
  return report(
    "usage",
    "Usage ↔ ledger",
    [
      { label: "Settled usage events", nano: buyers(u.eventsNano) },
      { label: "Usage transfers paid by buyers", nano: buyers(u.transfersNano) + u.unattributed.reduce((a, t) => a + t.amountNano, 0n) },
      { label: "Platform fees in the events", nano: u.eventsNano.get(PLATFORM_PARTY) ?? 0n },
    ],
    differences,
  );
}

/**
 * Where a payments_clearing posting came from, as a key both sides share: the checkout
 * session (top-up), the charge (refunds), the dispute (amount, and its fee apart).
 * A reversal counts against the transfer it reverses.
 */
const LEDGER_KEY = sql.raw(`CASE coalesce(o.ref_kind, t.ref_kind)
    WHEN 'stripe_checkout_session' THEN 'checkout:' || coalesce(o.ref_id, t.ref_id)
    WHEN 'stripe_charge' THEN 'charge:' || coalesce(o.ref_id, t.ref_id)
    WHEN 'stripe_dispute' THEN CASE coalesce(o.code, t.code) WHEN 'payment_fee' THEN 'dispute_fee:' ELSE 'dispute:' END || coalesce(o.ref_id, t.ref_id)
    ELSE coalesce(t.ref_kind || ':' || t.ref_id, 'transfer:' || t.id) END`);

/**
 * (c) Stored Stripe payments, refunds and disputes (top-ups and payment adjustments) equal
 * the payments_clearing postings in the range, per payment. Figures are the net debit of
 * payments_clearing (money received less money returned). With `stripe`, also compares
 * gross amounts per payment intent with Stripe's balance transactions.
 */
export async function paymentsReport(db: DbOrTx, { stripe = null, ...range }: Range & { stripe?: Stripe | null }): Promise<Report> {
  const stored = new Map<string, bigint>();
  const paid = await rows(
    db,
    sql`select checkout_session_id, amount_cents from topups where status = 'paid' and paid_at >= ${range.from} and paid_at < ${range.to}`,
  );
  for (const p of paid) addTo(stored, `checkout:${p.checkout_session_id}`, BigInt(p.amount_cents as number) * NANO_PER_CENT);
  const adjustments = await rows(
    db,
    sql`select kind, external_id, amount_nano from payment_adjustments where created_at >= ${range.from} and created_at < ${range.to}`,
  );
  for (const a of adjustments) {
    const amount = a.amount_nano as bigint;
    const external = a.external_id as string;
    switch (a.kind) {
      case "refund":
        // Refund rows are keyed "charge:cumulative"; postings refer to the charge.
        addTo(stored, `charge:${external.split(":")[0]}`, -amount);
        break;
      case "dispute_opened":
        addTo(stored, `dispute:${external}`, -amount);
        break;
      case "dispute_won":
        addTo(stored, `dispute:${external}`, amount);
        break;
      case "dispute_fee":
        addTo(stored, `dispute_fee:${external}`, -amount);
        break;
    }
  }
  const ledger = new Map<string, bigint>();
  const postings = await rows(
    db,
    sql`select ${LEDGER_KEY} as key,
               sum(case when t.debit_account_id = a.id then t.amount_nano else -t.amount_nano end)::int8 as net
        from ledger_transfers t
        ${joinPlatformAccount("payments_clearing")}
        left join ledger_transfers o on o.id = case when t.ref_kind = 'ledger_transfer' then t.ref_id::uuid end
        where t.type in ('single', 'post_pending') and t.created_at >= ${range.from} and t.created_at < ${range.to}
        group by 1`,
  );
  for (const p of postings) addTo(ledger, p.key as string, p.net as bigint);
  const total = (m: Map<string, bigint>) => [...m.values()].reduce((a, b) => a + b, 0n);
  const differences: ReportDifference[] = compareFigures(stored, ledger).map((d) => ({
    ref: d.key,
    detail: `stored payments ${d.expectedNano} vs payments_clearing ${d.actualNano}${d.note ? ` (${d.note})` : ""}`,
    expectedNano: d.expectedNano,
    actualNano: d.actualNano,
  }));
  const figures = [
    { label: "Stored payments, net of refunds and disputes", nano: total(stored) },
    { label: "payments_clearing postings, net", nano: total(ledger) },
  ];
  if (stripe) {
    const s = await stripeDifferences(db, stripe, range);
    figures.push({ label: "Stripe balance transactions, gross", nano: s.stripeNano });
    differences.push(...s.differences);
  }
  return report("payments", "Payments ↔ ledger", figures, differences);
}

type BalanceSource = {
  object?: string;
  id?: string;
  payment_intent?: string | { id: string } | null;
  charge?: string | { payment_intent?: string | { id: string } | null } | null;
};

function paymentIntentOf(source: BalanceSource | string | null): string | null {
  if (!source || typeof source === "string") return null;
  const pi = source.payment_intent;
  if (pi) return typeof pi === "string" ? pi : pi.id;
  const charge = source.charge;
  if (charge && typeof charge === "object" && charge.payment_intent) {
    return typeof charge.payment_intent === "string" ? charge.payment_intent : charge.payment_intent.id;
  }
  return null;
}

/** Stripe's gross amounts (charges, refunds, dispute withdrawals and reinstatements) per payment intent vs our stored ones. */
async function stripeDifferences(db: DbOrTx, stripe: Stripe, range: Range): Promise<{ stripeNano: bigint; differences: ReportDifference[] }> {
  const theirs = new Map<string, bigint>();
  const created = { gte: Math.floor(range.from.getTime() / 1000), lt: Math.ceil(range.to.getTime() / 1000) };
  for await (const bt of stripe.balanceTransactions.list({ created, limit: 100, expand: ["data.source"] })) {
    if (!["charge", "payment", "refund", "payment_refund", "adjustment"].includes(bt.type)) continue;
    const pi = paymentIntentOf(bt.source as BalanceSource | string | null);
    if (!pi) continue;
    addTo(theirs, `pi:${pi}`, BigInt(bt.amount) * NANO_PER_CENT);
  }
  const ours = new Map<string, bigint>();
  const paid = await rows(
    db,
    sql`select payment_intent_id, amount_cents from topups where mode = 'stripe' and status = 'paid' and payment_intent_id is not null
          and paid_at >= ${range.from} and paid_at < ${range.to}`,
  );
  for (const p of paid) addTo(ours, `pi:${p.payment_intent_id}`, BigInt(p.amount_cents as number) * NANO_PER_CENT);
  const adj = await rows(
    db,
    sql`select a.kind, a.amount_nano, t.payment_intent_id from payment_adjustments a join topups t on t.id = a.topup_id
        where t.mode = 'stripe' and t.payment_intent_id is not null and a.kind <> 'dispute_fee'
          and a.created_at >= ${range.from} and a.created_at < ${range.to}`,
  );
  for (const a of adj) addTo(ours, `pi:${a.payment_intent_id}`, a.kind === "dispute_won" ? (a.amount_nano as bigint) : -(a.amount_nano as bigint));
  const differences = compareFigures(ours, theirs).map((d) => ({
    ref: d.key,
    detail: `stored ${d.expectedNano} vs Stripe balance transactions ${d.actualNano}${d.note === "only in the ledger" ? " (only at Stripe)" : d.note === "missing from the ledger" ? " (missing at Stripe)" : ""}`,
    expectedNano: d.expectedNano,
    actualNano: d.actualNano,
  }));
  return { stripeNano: [...theirs.values()].reduce((a, b) => a + b, 0n), differences };
}

/**
 * (d) Pending sums equal the open pending transfers, per account; and, where reservations
 * are recorded, each buyer's held credit equals its open reservations.
 */
export async function reservationsReport(db: DbOrTx): Promise<Report> {
  const found = await pendingByAccount(db);
  const differences: ReportDifference[] = [];
  let held = 0n;
  for (const r of found) {
    held += r.debitsPending;
    if (r.debitsPending !== r.openDebitsNano) {
      differences.push({
        ref: r.id,
        detail: `pending debits ${r.debitsPending} vs open holds ${r.openDebitsNano}`,
        expectedNano: r.openDebitsNano,
        actualNano: r.debitsPending,
      });
    }
    if (r.creditsPending !== r.openCreditsNano) {
      differences.push({
        ref: r.id,
        detail: `pending credits ${r.creditsPending} vs open holds ${r.openCreditsNano}`,
        expectedNano: r.openCreditsNano,
        actualNano: r.creditsPending,
      });
    }
  }
  const figures = [{ label: "Pending debits (all accounts)", nano: held }];
  const reservations = await openReservationsByOrg(db);
  if (reservations) {
    const ledger = new Map<string, bigint>();
    for (const r of found) if (r.kind === "buyer_credits" && r.debitsPending !== 0n) ledger.set(r.orgId!, r.debitsPending);
    figures.push({ label: "Open reservations", nano: [...reservations.values()].reduce((a, b) => a + b, 0n) });
    for (const d of compareFigures(reservations, ledger)) {
      differences.push({
        ref: `org:${d.key}`,
        detail: `open reservations ${d.expectedNano} vs held buyer credit ${d.actualNano}`,
        expectedNano: d.expectedNano,
        actualNano: d.actualNano,
      });
    }
  }
  return report("reservations", "Reservations ↔ pending", figures, differences);
}

/** (e) Usage reports that conflicted with settled events in the range; unreviewed ones fail the report. */
export async function conflictsReport(db: DbOrTx, range: Range): Promise<Report> {
  const conflicts = await usageConflicts(db, range);
  const open = conflicts.filter((c) => !c.reviewed);
  return report(
    "conflicts",
    "Usage conflicts",
    [],
    open.map((c) => ({
      ref: c.id,
      detail: `reported ${c.reports}× with different fields (fingerprint ${c.fingerprint}); not billed, needs review`,
      expectedNano: null,
      actualNano: null,
    })),
  );
}

/** (f) Payouts ↔ ledger ↔ Stripe transfers, for payouts made in the range (server/payouts/reconcile.ts). */
export async function payoutsReport(db: DbOrTx, p: Range & { stripe?: Stripe | null }): Promise<Report> {
  const { figures, differences } = await payoutDifferences(db, p);
  return report("payouts", "Payouts ↔ ledger ↔ Stripe", figures, differences);
}

/**
 * (g) Usage an upstream reported beyond what its request could produce or its hold covered,
 * listed for finance to take up with the provider. It always passes: what was billed is the
 * clamped usage, so the books agree; a provider's over-report must not hold a month open.
 */
export async function anomaliesReport(db: DbOrTx, range: Range): Promise<Report> {
  const found = await anomaliesIn(db, range);
  const listed = report(
    "anomalies",
    "Usage anomalies (upstream over-reports)",
    [{ label: "Billed for anomalous events", nano: found.reduce((a, x) => a + x.billedCostNano, 0n) }],
    found.map((a) => ({
      ref: a.eventId,
      detail:
        `provider ${a.providerOrgId}, listing ${a.listingId}, request ${a.eventId}: ${a.reason}; ` +
        `reported ${a.reportedInputTokens}/${a.reportedOutputTokens}/${a.reportedCachedInputTokens}, ` +
        `billed ${a.billedInputTokens}/${a.billedOutputTokens}/${a.billedCachedInputTokens} (input/output/cached tokens)`,
      expectedNano: null,
      actualNano: a.billedCostNano,
    })),
  );
  return { ...listed, status: "pass" };
}

/** Every report for the range, in a fixed order. */
export async function runReconciliation(db: Db, { stripe = null, ...range }: Range & { stripe?: Stripe | null }): Promise<Report[]> {
  return [
    await integrityReport(db, range),
    await usageReport(db, range),
    await paymentsReport(db, { ...range, stripe }),
    await reservationsReport(db),
    await conflictsReport(db, range),
    await payoutsReport(db, { ...range, stripe }),
    await anomaliesReport(db, range),
  ];
}
