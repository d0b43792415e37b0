-- Each usage event's input cost, fixed when it is priced (stage 1, server/usage/ingest.ts) beside its cost, so
-- settlement's window sums a column instead of joining every event to its price version. usage_events is
-- partitioned (custom migration usage_events_by_id), so Drizzle does not manage it: a column added to the parent
-- reaches every partition.
--
-- tm_input_cost_nano is the SQL twin of inputCostNano (server/economy/cput.ts), proven equal to it by
-- server/usage/input-cost.int.test.ts: round_half_even((input·p_in + cached·p_cached) / 1000), never more than
-- billed. Within the bounds below (tokens ≤ 1e8, as the usage contract allows; prices ≤ 1e10 nano-USD per 1k) every
-- product fits int8 with room for the sum, so it rounds in int8: a few integer operations, which the planner inlines,
-- instead of tm_usage_cost's numeric arithmetic and PL/pgSQL call (about 1.5 µs an event at this machine's load).
-- Past them, tm_usage_cost computes it exactly. Not STRICT, so that it inlines; its arguments are NOT NULL columns.
CREATE FUNCTION tm_input_cost_nano(input_tokens bigint, cached_tokens bigint, input_per1k_nano bigint, cached_per1k_nano bigint, billed_nano bigint)
RETURNS bigint
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
SELECT least(billed_nano, CASE
  WHEN input_tokens BETWEEN 0 AND 100000000 AND cached_tokens BETWEEN 0 AND 100000000
   AND input_per1k_nano BETWEEN 0 AND 10000000000 AND cached_per1k_nano BETWEEN 0 AND 10000000000
  THEN (input_tokens * input_per1k_nano + cached_tokens * cached_per1k_nano) / 1000
     + CASE WHEN (input_tokens * input_per1k_nano + cached_tokens * cached_per1k_nano) % 1000 > 500
              OR ((input_tokens * input_per1k_nano + cached_tokens * cached_per1k_nano) % 1000 = 500
                  AND (input_tokens * input_per1k_nano + cached_tokens * cached_per1k_nano) / 1000 % 2 = 1)
            THEN 1 ELSE 0 END
  ELSE tm_usage_cost(input_tokens, 0, cached_tokens, input_per1k_nano, 0, cached_per1k_nano)
END)
$$;
--> statement-breakpoint
ALTER TABLE usage_events ADD COLUMN input_cost_nano bigint
  CONSTRAINT usage_events_input_cost_nano CHECK (input_cost_nano >= 0 AND input_cost_nano <= cost_nano);
--> statement-breakpoint
-- Events priced before the column, from the price version each was billed at.
UPDATE usage_events e
SET input_cost_nano = tm_input_cost_nano(e.input_tokens, e.cached_input_tokens, lp.input_per1k_nano, lp.cached_input_per1k_nano, e.cost_nano)
FROM listing_prices lp
WHERE lp.id = e.price_id;
--> statement-breakpoint
-- An event whose price version is gone counts no input cost, as the rollups' backfill (0032) counted it.
UPDATE usage_events SET input_cost_nano = 0 WHERE input_cost_nano IS NULL;
--> statement-breakpoint
ALTER TABLE usage_events ALTER COLUMN input_cost_nano SET NOT NULL;
