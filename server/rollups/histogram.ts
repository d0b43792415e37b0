/**
 * Log-scale histograms of measurements (listing_latency_hourly): bucket b holds values in
 * [e^(b/20), e^((b+1)/20)), each about 5.1 % wide, so a median read from buckets is within
 * ±2.5 % of the bucket's geometric middle. tm_hist_bucket in SQL is the twin of bucketOf.
 */

export const BUCKETS_PER_E = 20;
export const METRIC_TTFT_MS = 1;
export const METRIC_OUTPUT_TPS = 2;

/** The bucket of a positive measurement (values below 0.001 count as 0.001, like the SQL). */
export function bucketOf(v: number): number {
  return Math.floor(Math.log(Math.max(v, 0.001)) * BUCKETS_PER_E);
}

/** The value a bucket stands for: its geometric middle, e^((b + 0.5)/20). */
export function bucketValue(bucket: number): number {
  return Math.exp((bucket + 0.5) / BUCKETS_PER_E);
}

/**
 * The (lower) median of a histogram given as bucket → count: the first bucket, in order,
 * at which the running count reaches half the total. Null for an empty histogram.
 */
export function medianBucket(counts: ReadonlyMap<number, number | bigint>): number | null {
  const buckets = [...counts.entries()].filter(([, n]) => Number(n) > 0).sort((a, b) => a[0] - b[0]);
  const total = buckets.reduce((s, [, n]) => s + Number(n), 0);
  if (total === 0) return null;
  let running = 0;
  for (const [b, n] of buckets) {
    running += Number(n);
    if (running * 2 >= total) return b;
  }
  return null;
}
