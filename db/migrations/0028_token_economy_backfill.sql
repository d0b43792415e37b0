-- Fills the token-economy sums (token_economy_rollups) of rollup rows written before them, from
-- the settled events behind them (batch 0, or a batch a window settled): the same events those
-- rows already count, so the new sums agree with the old ones. Events reported without a finish
-- reason count as useful when ok (isUsefulEvent, server/economy/cput.ts; the twin of the rollups'
-- USEFUL_EVENT_SQL), and those that reported energy add to the energy sums.
WITH settled AS (
  SELECT e.org_id, e.key_id, e.listing_id, date_trunc('hour', e.started_at, 'UTC') AS hour, e.output_tokens, e.cost_nano,
         (e.status = 'ok' AND coalesce(e.finish_reason, 'unknown') IN ('stop', 'tool_calls', 'unknown')) AS useful,
         CASE WHEN e.energy_joules IS NOT NULL THEN e.input_tokens + e.output_tokens + e.cached_input_tokens ELSE 0 END AS energy_tokens,
         coalesce(e.energy_joules, 0) AS energy_joules
  FROM usage_events e LEFT JOIN usage_batches b ON b.seq = e.batch_seq
  WHERE e.batch_seq = 0 OR b.settled_at IS NOT NULL
),
by_listing AS (
  UPDATE listing_hourly h SET useful_output_tokens = s.useful, wasted_cost_nano = s.wasted, energy_tokens = s.energy_tokens, energy_joules = s.energy_joules
  FROM (SELECT listing_id, hour, coalesce(sum(output_tokens) FILTER (WHERE useful), 0) AS useful, coalesce(sum(cost_nano) FILTER (WHERE NOT useful), 0) AS wasted,
               sum(energy_tokens) AS energy_tokens, sum(energy_joules) AS energy_joules
        FROM settled GROUP BY 1, 2) s
  WHERE h.listing_id = s.listing_id AND h.hour = s.hour
  RETURNING 1
),
by_key_listing AS (
  UPDATE usage_hourly h SET energy_tokens = s.energy_tokens, energy_joules = s.energy_joules
  FROM (SELECT org_id, key_id, listing_id, hour, sum(energy_tokens) AS energy_tokens, sum(energy_joules) AS energy_joules FROM settled GROUP BY 1, 2, 3, 4) s
  WHERE h.org_id = s.org_id AND h.key_id = s.key_id AND h.listing_id = s.listing_id AND h.hour = s.hour
  RETURNING 1
)
UPDATE org_usage_hourly h SET useful_output_tokens = s.useful, wasted_cost_nano = s.wasted
FROM (SELECT org_id, d.dimension, hour, d.group_id,
             coalesce(sum(output_tokens) FILTER (WHERE useful), 0) AS useful, coalesce(sum(cost_nano) FILTER (WHERE NOT useful), 0) AS wasted
      FROM settled CROSS JOIN LATERAL (VALUES (1::smallint, settled.listing_id), (2::smallint, settled.key_id)) AS d(dimension, group_id)
      GROUP BY 1, 2, 3, 4) s
WHERE h.org_id = s.org_id AND h.dimension = s.dimension AND h.hour = s.hour AND h.group_id = s.group_id;
