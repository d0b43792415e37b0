-- Fills input_cost_nano of rollup rows written before the column, from the settled events behind
-- them (batch 0, or a batch a window settled), the same events those rows already count: each
-- event's input cost is round_half_even((input·p_in + cached·p_cached) / 1000) at the price version
-- it was billed at (price_id), never more than it was billed (a capped event), as the rollups'
-- INPUT_COST_SQL (server/rollups/upserts.ts) and inputCostNano (server/economy/cput.ts).
WITH settled AS (
  SELECT e.org_id, e.key_id, e.listing_id, date_trunc('hour', e.started_at, 'UTC') AS hour,
         coalesce(least(e.cost_nano, tm_usage_cost(e.input_tokens, 0, e.cached_input_tokens, lp.input_per1k_nano, 0, lp.cached_input_per1k_nano)), 0) AS input_cost_nano
  FROM usage_events e
  LEFT JOIN usage_batches b ON b.seq = e.batch_seq
  LEFT JOIN listing_prices lp ON lp.id = e.price_id
  WHERE e.batch_seq = 0 OR b.settled_at IS NOT NULL
),
by_listing AS (
  UPDATE listing_hourly h SET input_cost_nano = s.input_cost_nano
  FROM (SELECT listing_id, hour, sum(input_cost_nano) AS input_cost_nano FROM settled GROUP BY 1, 2) s
  WHERE h.listing_id = s.listing_id AND h.hour = s.hour
  RETURNING 1
)
UPDATE org_usage_hourly h SET input_cost_nano = s.input_cost_nano
FROM (SELECT org_id, d.dimension, hour, d.group_id, sum(input_cost_nano) AS input_cost_nano
      FROM settled CROSS JOIN LATERAL (VALUES (1::smallint, settled.listing_id), (2::smallint, settled.key_id)) AS d(dimension, group_id)
      GROUP BY 1, 2, 3, 4) s
WHERE h.org_id = s.org_id AND h.dimension = s.dimension AND h.hour = s.hour AND h.group_id = s.group_id;
