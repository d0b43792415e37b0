import type pg from "pg";
import { expect } from "vitest";
import type { Db } from "../../db/client";
import { inputCostNano } from "../economy/cput";
import { checkInvariants } from "../ledger/invariants";
import { accountSums, HOLDS_SQL, LEDGER_TABLES, TRANSFER_LEGS_SQL } from "../ledger/testing";

/**
 * The checks a settlement test ends with, against totals the test computed itself: every
 * acknowledged event stored once at its cost, every batch settled by exactly one window,
 * the ledger, rollups, key spend and reservations consistent with the events, and the
 * ledger's invariants clean. Shared by the settler's crash tests.
 */

export type ExpectedEvent = { id: string; buyerOrgId: string; providerOrgId: string; costNano: bigint; feeNano: bigint };

/** Tables a settlement window writes: a window that dies must leave every one as it was. */
const WINDOW_TABLES = [
  "usage_batches",
  "usage_windows",
  "usage_settlements",
  ...LEDGER_TABLES,
  "reservations",
  "earning_lots",
  "usage_hourly",
  "org_usage_hourly",
  "listing_hourly",
  "listing_latency_hourly",
  "key_spend_daily",
] as const;

/** A digest of each table a window writes (its rows as text, sorted). */
export async function windowTablesDigest(pool: pg.Pool): Promise<Record<string, string>> {
  const { rows } = await pool.query<Record<string, string>>(
    `select ${WINDOW_TABLES.map((t) => `(select md5(coalesce(string_agg(x::text, '|' order by x::text), '')) from ${t} x) as ${t}`).join(", ")}`,
  );
  return rows[0]!;
}

/** Batches no window has taken yet. */
export async function unsettledBatchCount(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ n: number }>("select count(*)::int as n from usage_batches where settled_at is null");
  return rows[0]!.n;
}

const sum = (xs: readonly ExpectedEvent[], f: (x: ExpectedEvent) => bigint) => xs.reduce((s, x) => s + f(x), 0n);

export async function expectEverythingSettledOnce(db: Db, pool: pg.Pool, expected: readonly ExpectedEvent[]): Promise<void> {
  const q = async (text: string) => (await pool.query(text)).rows;

  // Each acknowledged event stored exactly once (the primary key), at the cost it was acknowledged with,
  // and with the input cost inputCostNano gives at the price version it was billed at.
  const stored = await pool.query<{
    id: string;
    cost_nano: bigint;
    fee_nano: bigint;
    input_cost_nano: bigint;
    input_tokens: number;
    cached_input_tokens: number;
    input_per1k_nano: bigint;
    cached_input_per1k_nano: bigint;
  }>(`select e.id, e.cost_nano, e.fee_nano, e.input_cost_nano, e.input_tokens, e.cached_input_tokens, p.input_per1k_nano, p.cached_input_per1k_nano
      from usage_events e join listing_prices p on p.id = e.price_id`);
  expect(stored.rowCount).toBe(expected.length);
  const byId = new Map(expected.map((x) => [x.id, x]));
  expect(stored.rows.filter((r) => byId.get(r.id)?.costNano !== r.cost_nano || byId.get(r.id)?.feeNano !== r.fee_nano)).toEqual([]);
  const inputCostOf = (r: (typeof stored.rows)[number]) =>
    inputCostNano(
      { input: r.input_tokens, cachedInput: r.cached_input_tokens },
      { inputPer1kNano: r.input_per1k_nano, outputPer1kNano: 0n, cachedInputPer1kNano: r.cached_input_per1k_nano },
      r.cost_nano,
    );
  expect(stored.rows.filter((r) => r.input_cost_nano !== inputCostOf(r)).map((r) => ({ id: r.id, stored: r.input_cost_nano, rule: inputCostOf(r) }))).toEqual(
    [],
  );

  // Every batch taken by exactly one window that exists, and the windows count exactly the batches and events.
  expect(await q("select seq from usage_batches b where settled_at is null or not exists (select 1 from usage_windows w where w.id = b.window_id)")).toEqual(
    [],
  );
  expect(
    await q(`select w.id from usage_windows w left join (select window_id, count(*) as n, sum(events) as events from usage_batches group by 1) b on b.window_id = w.id
             where b.n is distinct from w.batches or b.events is distinct from w.events`),
  ).toEqual([]);
  expect(await q("select b.seq from usage_batches b where b.events <> (select count(*) from usage_events e where e.batch_seq = b.seq)")).toEqual([]);
  const windows = (await q("select coalesce(sum(events), 0)::int8 as events, coalesce(sum(cost_nano), 0)::int8 as cost from usage_windows"))[0];
  expect(windows).toEqual({ events: BigInt(expected.length), cost: sum(expected, (x) => x.costNano) });

  // Each window's (buyer, provider) settlement rows equal its events; its ledger legs equal those rows.
  expect(
    await q(`
      with ev as (select b.window_id, e.org_id, e.provider_org_id, sum(e.cost_nano)::int8 as cost, sum(e.fee_nano)::int8 as fee, count(*) as n
                  from usage_events e join usage_batches b on b.seq = e.batch_seq group by 1, 2, 3)
      select s.id, ev.window_id from usage_settlements s full join ev on ev.window_id = s.batch_id and ev.org_id = s.buyer_org_id and ev.provider_org_id = s.provider_org_id
      where ev.cost is distinct from s.cost_nano or ev.fee is distinct from s.fee_nano or ev.n is distinct from s.events::int8`),
  ).toEqual([]);
  expect(
    await q(`
      with tr as (select t.ref_id::uuid as window_id, t.credit_kind as credit, coalesce(t.debit_org_id, t.credit_org_id) as org, t.amount_nano
                  from ${TRANSFER_LEGS_SQL} t where t.code = 'usage'),
           side as (
             select window_id, 'buyer' as side, org, sum(amount_nano)::int8 as amount from tr where credit = 'usage_clearing' group by 1, 2, 3
             union all select window_id, 'provider', org, sum(amount_nano)::int8 from tr where credit = 'provider_payable' group by 1, 2, 3
             union all select window_id, 'platform', null::uuid, sum(amount_nano)::int8 from tr where credit = 'platform_revenue' group by 1, 2, 3),
           want as (
             select batch_id as window_id, 'buyer' as side, buyer_org_id as org, sum(cost_nano)::int8 as amount from usage_settlements group by 1, 2, 3
             union all select batch_id, 'provider', provider_org_id, sum(cost_nano - fee_nano)::int8 from usage_settlements group by 1, 2, 3
             union all select batch_id, 'platform', null::uuid, sum(fee_nano)::int8 from usage_settlements group by 1, 2, 3)
      -- A leg of nothing is not posted (a window of capped events billed 0).
      select want.*, side.amount as posted from want full join side on want.window_id = side.window_id and want.side = side.side and want.org is not distinct from side.org
      where coalesce(want.amount, 0) <> coalesce(side.amount, 0)`),
  ).toEqual([]);
  expect(
    await q(
      "select t.id from ledger_transfers t where t.code = 'usage' and (t.ref_kind <> 'usage_window' or not exists (select 1 from usage_windows w where w.id = t.ref_id::uuid))",
    ),
  ).toEqual([]);

  // Ledger totals per buyer, provider and the platform, as the test computed them; clearing nets to zero.
  for (const buyer of new Set(expected.map((x) => x.buyerOrgId))) {
    const acc = await accountSums(db, buyer);
    const debited = acc.get("buyer_credits")!.debits_posted + (acc.get("buyer_receivable")?.debits_posted ?? 0n);
    const usageIn = await q(
      `select coalesce(sum(t.amount_nano), 0)::int8 as n from ${TRANSFER_LEGS_SQL} t where t.code = 'usage' and t.debit_org_id = '${buyer}'`,
    );
    expect({ buyer, usage: usageIn[0].n }).toEqual({
      buyer,
      usage: sum(
        expected.filter((x) => x.buyerOrgId === buyer),
        (x) => x.costNano,
      ),
    });
    expect(debited).toBeGreaterThanOrEqual(usageIn[0].n);
  }
  for (const provider of new Set(expected.map((x) => x.providerOrgId))) {
    const payable = (await accountSums(db, provider)).get("provider_payable")!.credits_posted;
    expect({ provider, payable }).toEqual({
      provider,
      payable: sum(
        expected.filter((x) => x.providerOrgId === provider),
        (x) => x.costNano - x.feeNano,
      ),
    });
  }
  const platform = await accountSums(db, null);
  expect(platform.get("platform_revenue")?.credits_posted ?? 0n).toBe(sum(expected, (x) => x.feeNano));
  const clearing = platform.get("usage_clearing");
  expect(clearing?.debits_posted ?? 0n).toBe(clearing?.credits_posted ?? 0n);

  // Rollups and key spend equal raw sums over usage_events.
  const differs = (table: string, keys: string, cols: string, raw: string) =>
    q(`with r as (select ${keys}, ${cols.replace("energy_joules", "round(energy_joules::numeric, 6) as energy_joules")} from ${table}), e as (${raw})
       select * from r full join e using (${keys}) where ${cols
         .split(", ")
         .map((c) => `r.${c} is distinct from e.${c}`)
         .join(" or ")}`);
  const hour = "date_trunc('hour', started_at, 'UTC')";
  // The token-economy sums (server/rollups/upserts.ts), written independently of it here; joules to the µJ (float sums differ in order).
  const useful = "status = 'ok' and coalesce(finish_reason, 'unknown') in ('stop', 'tool_calls', 'unknown')";
  // Input costs: each event's stored one (checked against inputCostNano above).
  const USEFUL_SUMS = `coalesce(sum(output_tokens) filter (where ${useful}), 0)::int8 as useful_output_tokens,
              coalesce(sum(cost_nano) filter (where not (${useful})), 0)::int8 as wasted_cost_nano,
              coalesce(sum(input_cost_nano), 0)::int8 as input_cost_nano`;
  const ECONOMY_SUMS = `${USEFUL_SUMS}, coalesce(sum(input_tokens + output_tokens + cached_input_tokens) filter (where energy_joules is not null), 0)::int8 as energy_tokens,
              round(coalesce(sum(energy_joules), 0)::numeric, 6) as energy_joules`;
  expect(
    await differs(
      "usage_hourly",
      "org_id, key_id, listing_id, hour",
      "requests, input_tokens, output_tokens, cached_input_tokens, cost_nano, errors",
      `select org_id, key_id, listing_id, ${hour} as hour, count(*)::int8 as requests, sum(input_tokens)::int8 as input_tokens, sum(output_tokens)::int8 as output_tokens,
              sum(cached_input_tokens)::int8 as cached_input_tokens, sum(cost_nano)::int8 as cost_nano, (count(*) filter (where status <> 'ok'))::int8 as errors
       from usage_events group by 1, 2, 3, 4`,
    ),
  ).toEqual([]);
  expect(
    await differs(
      "listing_hourly",
      "listing_id, hour",
      "requests, errors, cost_nano, fee_nano, useful_output_tokens, wasted_cost_nano, input_cost_nano, energy_tokens, energy_joules",
      `select listing_id, ${hour} as hour, count(*)::int8 as requests, (count(*) filter (where status <> 'ok'))::int8 as errors, sum(cost_nano)::int8 as cost_nano, sum(fee_nano)::int8 as fee_nano,
              ${ECONOMY_SUMS}
       from usage_events group by 1, 2`,
    ),
  ).toEqual([]);
  expect(
    await differs(
      "org_usage_hourly",
      "org_id, dimension, hour, group_id",
      "requests, cost_nano, useful_output_tokens, wasted_cost_nano, input_cost_nano",
      `select org_id, d.dimension, ${hour} as hour, d.group_id, count(*)::int8 as requests, sum(cost_nano)::int8 as cost_nano,
              ${USEFUL_SUMS}
       from usage_events cross join lateral (values (1::smallint, listing_id), (2::smallint, key_id)) as d(dimension, group_id) group by 1, 2, 3, 4`,
    ),
  ).toEqual([]);
  expect(
    await differs(
      "key_spend_daily",
      "key_id, day",
      "spend_nano",
      "select key_id, (started_at at time zone 'UTC')::date as day, sum(cost_nano)::int8 as spend_nano from usage_events group by 1, 2",
    ),
  ).toEqual([]);

  // Reservations: what each organisation's reservations hold is what the ledger holds for it; none consumed past its grant; no usage left pending.
  const held = await q(`
    select r.org_id, coalesce(sum(r.held_nano) filter (where h.status = 'open'), 0)::int8 as held,
           bool_and(r.consumed_nano + r.released_nano + r.held_nano <= r.amount_nano) as sane, sum(r.pending_usage_nano)::int8 as pending
    from reservations r left join ${HOLDS_SQL} h on h.hold_id = r.hold_transfer_id group by 1`);
  for (const r of held) {
    expect({ org: r.org_id, sane: r.sane, pending: r.pending }).toEqual({ org: r.org_id, sane: true, pending: 0n });
    expect({ org: r.org_id, held: (await accountSums(db, r.org_id)).get("buyer_credits")!.debits_pending }).toEqual({ org: r.org_id, held: r.held });
  }
  expect(
    await q(
      `select id from reservations where hold_transfer_id is not null and held_nano > 0 and not exists (select 1 from ${HOLDS_SQL} h where h.hold_id = hold_transfer_id)`,
    ),
  ).toEqual([]);

  expect(await checkInvariants(db)).toEqual([]);
}
