-- The activity log pages an organisation's events newest first (keyset on started_at, id);
-- created on the partitioned parent, so every month's partition gets it.
CREATE INDEX usage_events_org_started_index ON usage_events (org_id, started_at DESC, id DESC);
--> statement-breakpoint
-- The histogram bucket of a positive measurement (listing_latency_hourly): floor(ln(v) · 20), so
-- each bucket is e^(1/20) ≈ 5.1 % wide. The TypeScript twin is bucketOf in server/dashboards/histogram.ts.
CREATE FUNCTION tm_hist_bucket(v double precision) RETURNS smallint
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT floor(ln(greatest(v, 0.001)) * 20)::smallint $$;
--> statement-breakpoint
-- Rollups for usage settled before these tables existed (settlement maintains them from now on).
INSERT INTO listing_hourly (listing_id, hour, provider_org_id, requests, errors, input_tokens, output_tokens, cached_input_tokens,
                            cost_nano, fee_nano, latency_ms_sum, ttft_ms_sum, ttft_count)
SELECT listing_id, date_trunc('hour', started_at, 'UTC'), provider_org_id, count(*), count(*) FILTER (WHERE status <> 'ok'),
       sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cost_nano)::int8, sum(fee_nano)::int8,
       coalesce(sum((extract(epoch FROM ended_at - started_at) * 1000)::int8), 0),
       coalesce(sum((extract(epoch FROM first_token_at - started_at) * 1000)::int8), 0), count(first_token_at)
FROM usage_events GROUP BY 1, 2, 3;
--> statement-breakpoint
INSERT INTO listing_latency_hourly (listing_id, hour, metric, bucket, events)
SELECT listing_id, date_trunc('hour', started_at, 'UTC'), m.metric, tm_hist_bucket(m.v), count(*)
FROM usage_events e
CROSS JOIN LATERAL (VALUES
  (1::smallint, CASE WHEN e.first_token_at IS NOT NULL THEN extract(epoch FROM e.first_token_at - e.started_at) * 1000 END),
  (2::smallint, CASE WHEN e.output_tokens > 0 AND e.ended_at > coalesce(e.first_token_at, e.started_at)
                     THEN e.output_tokens / extract(epoch FROM e.ended_at - coalesce(e.first_token_at, e.started_at)) END)
) AS m(metric, v)
WHERE e.status = 'ok' AND m.v IS NOT NULL
GROUP BY 1, 2, 3, 4;
--> statement-breakpoint
INSERT INTO org_usage_hourly (org_id, dimension, hour, group_id, requests, input_tokens, output_tokens, cached_input_tokens, cost_nano)
SELECT org_id, d.dimension, date_trunc('hour', started_at, 'UTC'), d.group_id, count(*), sum(input_tokens), sum(output_tokens),
       sum(cached_input_tokens), sum(cost_nano)::int8
FROM usage_events e CROSS JOIN LATERAL (VALUES (1::smallint, e.listing_id), (2::smallint, e.key_id)) AS d(dimension, group_id)
GROUP BY 1, 2, 3, 4;
