import { sql } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import type { Month } from "../finance/period";
import type { Cell } from "../lib/csv";
import { type EnergyLine, energyLines } from "./energy";

/**
 * The buyer's energy and emissions statement for a month (UTC): per model and API key, the energy
 * of the organisation's usage and its emissions at the listing's grid intensity, measured where
 * upstreams reported energy and declared (the listing's tokens per watt) for the rest, one line
 * each. Read from usage_hourly (per organisation, key, listing and hour), never raw events.
 */

export type StatementLine = EnergyLine & { listingSlug: string; keyName: string; gridGPerKwh: number | null };

export async function energyStatement(db: DbOrTx, p: { orgId: string; month: Month }) {
  const { rows } = await db.execute<{
    slug: string;
    key_name: string;
    tokens_per_watt: number | null;
    grid: number | null;
    tokens: string;
    energy_tokens: string;
    energy_joules: number;
  }>(sql`
    select l.slug, k.name || ' (…' || k.last4 || ')' as key_name, l.tokens_per_watt, l.grid_carbon_g_per_kwh as grid,
           sum(u.input_tokens + u.output_tokens + u.cached_input_tokens)::text as tokens, sum(u.energy_tokens)::text as energy_tokens,
           sum(u.energy_joules)::float8 as energy_joules
    from usage_hourly u join listings l on l.id = u.listing_id join api_keys k on k.id = u.key_id
    where u.org_id = ${p.orgId}::uuid and u.hour >= ${p.month.startsAt.toISOString()}::timestamptz and u.hour < ${p.month.endsAt.toISOString()}::timestamptz
    group by l.slug, k.name, k.last4, l.tokens_per_watt, l.grid_carbon_g_per_kwh
    order by l.slug, key_name`);
  const lines: StatementLine[] = rows.flatMap((r) =>
    energyLines({ tokens: Number(r.tokens), measuredTokens: Number(r.energy_tokens), measuredJoules: Number(r.energy_joules) }, r.tokens_per_watt, r.grid).map(
      (line) => ({ ...line, listingSlug: r.slug, keyName: r.key_name, gridGPerKwh: r.grid }),
    ),
  );
  const sum = (f: (l: StatementLine) => number | null) => lines.reduce((s, l) => s + (f(l) ?? 0), 0);
  return {
    month: p.month.month,
    lines,
    totalWh: sum((l) => l.wh),
    totalGCo2: sum((l) => l.gCo2),
    /** Tokens with no energy figure at all (not measured, nothing declared): left out of the totals. */
    unknownTokens: sum((l) => (l.wh === null ? l.tokens : 0)),
  };
}

export const STATEMENT_CSV_HEADER = ["month", "model", "api_key", "basis", "tokens", "energy_wh", "grid_g_per_kwh", "emissions_gco2"];

/** The statement's lines as CSV rows (STATEMENT_CSV_HEADER); unknown figures are empty cells. */
export function statementCsvRows(s: Awaited<ReturnType<typeof energyStatement>>): Cell[][] {
  return s.lines.map((l) => [s.month, l.listingSlug, l.keyName, l.basis, l.tokens, l.wh, l.gridGPerKwh, l.gCo2]);
}
