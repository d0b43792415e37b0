import { sql, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { DomainError } from "../errors";
import { usdDecimal } from "../ledger/money";
import { asDate } from "../usage/store";
import type { ActivityFilter, ActivityFilterParams, ActivityParams } from "./inputs";
import { csvLine } from "../lib/csv";
import { keysetPage, pageFetchSize } from "../lib/paging";
import { decodeCursor, encodeCursor } from "./rules";
import { n } from "./usage-by-day";

/** The activity log: the organisation's raw usage events, paged through their (org_id, started_at, id) index. */

type ActivityRow = {
  id: string;
  started_at_text: string;
  started_at: string;
  key_id: string;
  key_name: string;
  listing_id: string;
  listing_slug: string;
  provider_name: string;
  input_tokens: number;
  output_tokens: number;
  cached_input_tokens: number;
  cost_nano: bigint;
  latency_ms: number;
  ttft_ms: number | null;
  status: "ok" | "error" | "aborted";
  estimated: boolean;
  upstream_status: number | null;
  settled: boolean;
};

function activityWhere(orgId: string, f: ActivityFilter): SQL {
  const c: SQL[] = [sql`e.org_id = ${orgId}::uuid`];
  if (f.keyId) c.push(sql`e.key_id = ${f.keyId}::uuid`);
  if (f.listingId) c.push(sql`e.listing_id = ${f.listingId}::uuid`);
  if (f.status) c.push(sql`e.status = ${f.status}`);
  if (f.from) c.push(sql`e.started_at >= ${f.from.toISOString()}::timestamptz`);
  if (f.to) c.push(sql`e.started_at < ${f.to.toISOString()}::timestamptz`);
  return sql.join(c, sql` and `);
}

/** One page of the organisation's requests, newest first, after `cursor` (keyset paging: stable while new events arrive). */
export async function activityPage(db: DbOrTx, p: ActivityParams) {
  const { orgId } = p;
  const where = [activityWhere(orgId, p.filter)];
  if (p.cursor) {
    const c = decodeCursor(p.cursor);
    if (!c) throw new DomainError("INVALID_INPUT", "cursor: is not a cursor this page gave out", "cursor");
    where.push(sql`(e.started_at, e.id) < (${c.startedAtText}::timestamptz, ${c.id}::uuid)`);
  }
  const { rows } = await db.execute<ActivityRow>(sql`
    select e.id, e.started_at::text as started_at_text, e.started_at, e.key_id, k.name as key_name, e.listing_id, l.slug as listing_slug,
           p.name as provider_name, e.input_tokens, e.output_tokens, e.cached_input_tokens, e.cost_nano,
           round(extract(epoch from e.ended_at - e.started_at) * 1000)::int as latency_ms,
           round(extract(epoch from e.first_token_at - e.started_at) * 1000)::int as ttft_ms,
           e.status, e.estimated, e.upstream_status, (e.batch_seq = 0 or b.settled_at is not null) as settled
    from usage_events e
    left join usage_batches b on b.seq = e.batch_seq
    join api_keys k on k.id = e.key_id
    join listings l on l.id = e.listing_id
    join organizations p on p.id = e.provider_org_id
    where ${sql.join(where, sql` and `)}
    order by e.started_at desc, e.id desc
    limit ${pageFetchSize(p.limit)}`);
  const page = keysetPage(
    rows,
    p.limit,
    (last) => encodeCursor({ startedAtText: last.started_at_text, id: last.id }),
    (r) => ({
      id: r.id,
      startedAt: asDate(r.started_at),
      keyId: r.key_id,
      keyName: r.key_name,
      listingId: r.listing_id,
      listingSlug: r.listing_slug,
      providerName: r.provider_name,
      inputTokens: r.input_tokens,
      outputTokens: r.output_tokens,
      cachedInputTokens: r.cached_input_tokens,
      costNano: r.cost_nano,
      latencyMs: r.latency_ms,
      ttftMs: r.ttft_ms,
      status: r.status,
      estimated: r.estimated,
      upstreamStatus: r.upstream_status,
      /** Billed at this cost; in the ledger once the settler's next window takes it. */
      settling: !r.settled,
    }),
  );
  return { rows: page.items, nextCursor: page.nextCursor };
}

/** Count and sums of every request the filter matches (what the log's pages and the CSV add up to). */
export async function activityTotals(db: DbOrTx, p: ActivityFilterParams) {
  const { orgId, filter } = p;
  const { rows } = await db.execute<{ requests: bigint; input_tokens: bigint; output_tokens: bigint; cached_input_tokens: bigint; cost_nano: bigint }>(sql`
    select count(*)::int8 as requests, coalesce(sum(e.input_tokens), 0)::int8 as input_tokens, coalesce(sum(e.output_tokens), 0)::int8 as output_tokens,
           coalesce(sum(e.cached_input_tokens), 0)::int8 as cached_input_tokens, coalesce(sum(e.cost_nano), 0)::int8 as cost_nano
    from usage_events e where ${activityWhere(orgId, filter)}`);
  const r = rows[0]!;
  return {
    requests: n(r.requests),
    inputTokens: n(r.input_tokens),
    outputTokens: n(r.output_tokens),
    cachedInputTokens: n(r.cached_input_tokens),
    costNano: r.cost_nano,
  };
}

export const CSV_HEADER = [
  "started_at_utc",
  "request_id",
  "key",
  "listing",
  "provider",
  "input_tokens",
  "output_tokens",
  "cached_input_tokens",
  "cost_usd",
  "latency_ms",
  "ttft_ms",
  "status",
  "estimated",
] as const;

/** The filtered log as CSV lines (header first), read page by page so memory stays flat however long the log. */
export async function* activityCsv(db: DbOrTx, p: ActivityFilterParams): AsyncGenerator<string> {
  const { orgId, filter } = p;
  yield csvLine(CSV_HEADER);
  let cursor: string | undefined;
  for (;;) {
    const page = await activityPage(db, { orgId, filter, cursor, limit: 200 });
    for (const r of page.rows) {
      yield csvLine([
        r.startedAt.toISOString(),
        r.id,
        r.keyName,
        r.listingSlug,
        r.providerName,
        r.inputTokens,
        r.outputTokens,
        r.cachedInputTokens,
        usdDecimal(r.costNano),
        r.latencyMs,
        r.ttftMs,
        r.status,
        r.estimated,
      ]);
    }
    if (!page.nextCursor) return;
    cursor = page.nextCursor;
  }
}
