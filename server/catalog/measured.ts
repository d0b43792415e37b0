import { sql, type SQL } from "drizzle-orm";
import type { DbOrTx } from "../../db/client";
import { bucketValue, METRIC_OUTPUT_TPS, METRIC_TTFT_MS } from "../rollups/histogram";
import { pgArray } from "../lib/pg-array";
import { MIN_MEASURED_SAMPLE, measuredFigure } from "./sample";

/**
 * What real traffic measured for listings (as opposed to what providers declare): median
 * output tokens per second and median time to first token of successful requests, and the
 * success rate of all requests, from the rollups settlement maintains (listing_hourly and
 * the log-scale histograms in listing_latency_hourly). Never reads raw events.
 */

export type MeasuredStats = {
  /** Requests over the window (all statuses). */
  requests: number;
  /** Share of requests that ended ok, 0–1; null below the minimum sample (server/catalog/sample.ts). */
  successRate: number | null;
  /** Median output tokens / (ended − first token, or − start when none) of ok requests; null below the minimum sample. */
  medianOutputTokensPerSecond: number | null;
  /** Ok requests the throughput median is taken over. */
  tpsSample: number;
  /** Median time to first token of ok requests that had one, ms; null below the minimum sample. */
  medianTtftMs: number | null;
  /** Ok requests with a first token the TTFT median is taken over. */
  ttftSample: number;
};

/** Window the marketplace and the proxy's "fastest" routing use. */
export const MEASURED_WINDOW_HOURS = 24;

/** The first hour bucket inside the last `hours` hours before `now` (the current, partial hour counts as one). */
export function windowStart(now: Date, hours = MEASURED_WINDOW_HOURS): Date {
  const h = new Date(now);
  h.setUTCMinutes(0, 0, 0);
  return new Date(h.getTime() - (hours - 1) * 3600_000);
}

/**
 * SQL for one row per listing with traffic since `from`: listing_id, requests, errors and the
 * median bucket of each metric (a bucket orders like its value, so sorting by it sorts by the
 * median) with its sample size. A median over fewer than MIN_MEASURED_SAMPLE measurements is
 * null here, so sorting never ranks by it. `scope` narrows the listings (a condition on `l`).
 */
export function measuredBucketsSql(from: Date, scope: SQL = sql`true`): SQL {
  const f = from.toISOString();
  return sql`
    select r.listing_id, r.requests, r.errors, m.ttft_n, m.tps_n,
           case when m.ttft_n >= ${MIN_MEASURED_SAMPLE} then m.ttft_bucket end as ttft_bucket,
           case when m.tps_n >= ${MIN_MEASURED_SAMPLE} then m.tps_bucket end as tps_bucket
    from (
      select h.listing_id, sum(h.requests)::int8 as requests, sum(h.errors)::int8 as errors
      from listing_hourly h join listings l on l.id = h.listing_id
      where h.hour >= ${f}::timestamptz and ${scope}
      group by h.listing_id
    ) r
    left join (
      select listing_id,
             min(bucket) filter (where metric = ${METRIC_TTFT_MS}) as ttft_bucket,
             min(bucket) filter (where metric = ${METRIC_OUTPUT_TPS}) as tps_bucket,
             coalesce(max(total) filter (where metric = ${METRIC_TTFT_MS}), 0)::int8 as ttft_n,
             coalesce(max(total) filter (where metric = ${METRIC_OUTPUT_TPS}), 0)::int8 as tps_n
      from (
        -- Per metric, the first bucket at which the running count reaches half: the lower median.
        select distinct on (listing_id, metric) listing_id, metric, bucket, total
        from (
          select listing_id, metric, bucket,
                 sum(n) over (partition by listing_id, metric order by bucket) as running,
                 sum(n) over (partition by listing_id, metric) as total
          from (
            select x.listing_id, x.metric, x.bucket, sum(x.events) as n
            from listing_latency_hourly x join listings l on l.id = x.listing_id
            where x.hour >= ${f}::timestamptz and ${scope}
            group by 1, 2, 3
          ) g
        ) c
        where running * 2 >= total
        order by listing_id, metric, bucket
      ) med
      group by listing_id
    ) m on m.listing_id = r.listing_id`;
}

type Row = {
  listing_id: string;
  requests: bigint;
  errors: bigint;
  ttft_n: bigint | null;
  tps_n: bigint | null;
  ttft_bucket: number | null;
  tps_bucket: number | null;
};

/** Measured stats per listing since `from` (listings without traffic are absent). */
export async function measuredStats(
  db: DbOrTx,
  p: { from: Date; listingIds?: readonly string[]; providerOrgId?: string },
): Promise<Map<string, MeasuredStats>> {
  if (p.listingIds && p.listingIds.length === 0) return new Map();
  const scope = sql.join(
    [
      sql`true`,
      ...(p.listingIds ? [sql`l.id = any(${pgArray([...p.listingIds])}::uuid[])`] : []),
      ...(p.providerOrgId ? [sql`l.org_id = ${p.providerOrgId}::uuid`] : []),
    ],
    sql` and `,
  );
  const { rows } = await db.execute<Row>(measuredBucketsSql(p.from, scope));
  return new Map(
    rows.map((r) => {
      const requests = Number(r.requests);
      return [
        r.listing_id,
        {
          requests,
          successRate: measuredFigure(requests === 0 ? null : (requests - Number(r.errors)) / requests, requests),
          medianOutputTokensPerSecond: r.tps_bucket === null ? null : bucketValue(Number(r.tps_bucket)),
          tpsSample: Number(r.tps_n ?? 0),
          medianTtftMs: r.ttft_bucket === null ? null : bucketValue(Number(r.ttft_bucket)),
          ttftSample: Number(r.ttft_n ?? 0),
        },
      ];
    }),
  );
}
