/**
 * The rollups' late parts (db/schema/dashboards.ts): each day-relevant sum is also kept over
 * the events that started at or after minute 15 and minute 30 of their UTC hour, so an hour
 * holding a local midnight at :15 or :30 (Nepal +5:45 and Chatham +12:45 at :15; India +5:30,
 * Newfoundland −3:30 and central Australia at :30) splits exactly between its two days. Settlement writes them (server/usage/settlement.ts), the dashboards
 * read them (usageByDay in server/dashboards/), and migration 0015 filled rows written before them.
 */

/** Minutes of the UTC hour at which a local midnight can fall, other than :00. */
export const LATE_CUTS = [15, 30] as const;

/** A rollup's day-relevant sums: column → what each event adds (an expression over usage_events columns). */
export type Metrics = Record<string, string>;

export const ORG_USAGE_METRICS: Metrics = {
  requests: "1",
  input_tokens: "input_tokens",
  output_tokens: "output_tokens",
  cached_input_tokens: "cached_input_tokens",
  cost_nano: "cost_nano",
};

export const LISTING_METRICS: Metrics = {
  ...ORG_USAGE_METRICS,
  errors: "(status <> 'ok')::int",
  fee_nano: "fee_nano",
};

/** The late-part columns of `metrics`: requests_after15, requests_after30, … */
export const lateColumns = (metrics: Metrics) => Object.keys(metrics).flatMap((m) => LATE_CUTS.map((cut) => `${m}_after${cut}`));

/** Aggregates filling lateColumns(metrics), in the same order; `minute` is the event's minute of its UTC hour. */
export const lateSums = (metrics: Metrics, minute: string) =>
  Object.values(metrics).flatMap((each) => LATE_CUTS.map((cut) => `coalesce(sum(${each}) FILTER (WHERE ${minute} >= ${cut}), 0)::int8`));

/** The minute of the UTC hour an event started in. */
export const MINUTE_OF_STARTED_AT = "extract(minute FROM started_at AT TIME ZONE 'UTC')";
