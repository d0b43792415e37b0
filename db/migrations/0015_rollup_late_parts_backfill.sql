-- Fills the late parts (server/dashboards/late-parts.ts) of rollup rows written before
-- 0014 added them, from the events themselves. A function, so a test can prove it agrees
-- with what settlement writes; idempotent (it sets, never adds).
CREATE FUNCTION tm_backfill_rollup_late_parts() RETURNS void
LANGUAGE sql
AS $$
  UPDATE org_usage_hourly h SET
    requests_after15 = x.requests_after15, requests_after30 = x.requests_after30,
    input_tokens_after15 = x.input_tokens_after15, input_tokens_after30 = x.input_tokens_after30,
    output_tokens_after15 = x.output_tokens_after15, output_tokens_after30 = x.output_tokens_after30,
    cached_input_tokens_after15 = x.cached_input_tokens_after15, cached_input_tokens_after30 = x.cached_input_tokens_after30,
    cost_nano_after15 = x.cost_nano_after15, cost_nano_after30 = x.cost_nano_after30
  FROM (
    SELECT e.org_id, d.dimension, date_trunc('hour', e.started_at, 'UTC') AS hour, d.group_id,
           count(*) AS requests_after15, count(*) FILTER (WHERE m.minute >= 30) AS requests_after30,
           sum(e.input_tokens)::int8 AS input_tokens_after15, coalesce(sum(e.input_tokens) FILTER (WHERE m.minute >= 30), 0)::int8 AS input_tokens_after30,
           sum(e.output_tokens)::int8 AS output_tokens_after15, coalesce(sum(e.output_tokens) FILTER (WHERE m.minute >= 30), 0)::int8 AS output_tokens_after30,
           sum(e.cached_input_tokens)::int8 AS cached_input_tokens_after15, coalesce(sum(e.cached_input_tokens) FILTER (WHERE m.minute >= 30), 0)::int8 AS cached_input_tokens_after30,
           sum(e.cost_nano)::int8 AS cost_nano_after15, coalesce(sum(e.cost_nano) FILTER (WHERE m.minute >= 30), 0)::int8 AS cost_nano_after30
    FROM usage_events e
    CROSS JOIN LATERAL (SELECT extract(minute FROM e.started_at AT TIME ZONE 'UTC') AS minute) m
    CROSS JOIN LATERAL (VALUES (1::smallint, e.listing_id), (2::smallint, e.key_id)) AS d(dimension, group_id)
    WHERE m.minute >= 15
    GROUP BY 1, 2, 3, 4
  ) x
  WHERE h.org_id = x.org_id AND h.dimension = x.dimension AND h.hour = x.hour AND h.group_id = x.group_id;

  UPDATE listing_hourly h SET
    requests_after15 = x.requests_after15, requests_after30 = x.requests_after30,
    errors_after15 = x.errors_after15, errors_after30 = x.errors_after30,
    input_tokens_after15 = x.input_tokens_after15, input_tokens_after30 = x.input_tokens_after30,
    output_tokens_after15 = x.output_tokens_after15, output_tokens_after30 = x.output_tokens_after30,
    cached_input_tokens_after15 = x.cached_input_tokens_after15, cached_input_tokens_after30 = x.cached_input_tokens_after30,
    cost_nano_after15 = x.cost_nano_after15, cost_nano_after30 = x.cost_nano_after30,
    fee_nano_after15 = x.fee_nano_after15, fee_nano_after30 = x.fee_nano_after30
  FROM (
    SELECT e.listing_id, date_trunc('hour', e.started_at, 'UTC') AS hour,
           count(*) AS requests_after15, count(*) FILTER (WHERE m.minute >= 30) AS requests_after30,
           count(*) FILTER (WHERE e.status <> 'ok') AS errors_after15, count(*) FILTER (WHERE e.status <> 'ok' AND m.minute >= 30) AS errors_after30,
           sum(e.input_tokens)::int8 AS input_tokens_after15, coalesce(sum(e.input_tokens) FILTER (WHERE m.minute >= 30), 0)::int8 AS input_tokens_after30,
           sum(e.output_tokens)::int8 AS output_tokens_after15, coalesce(sum(e.output_tokens) FILTER (WHERE m.minute >= 30), 0)::int8 AS output_tokens_after30,
           sum(e.cached_input_tokens)::int8 AS cached_input_tokens_after15, coalesce(sum(e.cached_input_tokens) FILTER (WHERE m.minute >= 30), 0)::int8 AS cached_input_tokens_after30,
           sum(e.cost_nano)::int8 AS cost_nano_after15, coalesce(sum(e.cost_nano) FILTER (WHERE m.minute >= 30), 0)::int8 AS cost_nano_after30,
           sum(e.fee_nano)::int8 AS fee_nano_after15, coalesce(sum(e.fee_nano) FILTER (WHERE m.minute >= 30), 0)::int8 AS fee_nano_after30
    FROM usage_events e
    CROSS JOIN LATERAL (SELECT extract(minute FROM e.started_at AT TIME ZONE 'UTC') AS minute) m
    WHERE m.minute >= 15
    GROUP BY 1, 2
  ) x
  WHERE h.listing_id = x.listing_id AND h.hour = x.hour;
$$;
--> statement-breakpoint
SELECT tm_backfill_rollup_late_parts();
