-- Each usage event's input cost, fixed when it is priced (stage 1, server/usage/ingest.ts) beside its cost:
-- round_half_even((input·p_in + cached·p_cached) / 1000) at the price version it was billed at, never more
-- than it was billed (inputCostNano, server/economy/cput.ts). Settlement's window then sums a column instead
-- of joining every event to its price version. usage_events is partitioned (custom migration
-- usage_events_by_id), so Drizzle does not manage it: a column added to the parent reaches every partition.
ALTER TABLE usage_events ADD COLUMN input_cost_nano bigint
  CONSTRAINT usage_events_input_cost_nano CHECK (input_cost_nano >= 0 AND input_cost_nano <= cost_nano);
--> statement-breakpoint
-- Events priced before the column, from the price version each was billed at.
UPDATE usage_events e
SET input_cost_nano = least(e.cost_nano, tm_usage_cost(e.input_tokens, 0, e.cached_input_tokens, lp.input_per1k_nano, 0, lp.cached_input_per1k_nano))
FROM listing_prices lp
WHERE lp.id = e.price_id;
--> statement-breakpoint
-- An event whose price version is gone counts no input cost, as the rollups' backfill (0032) counted it.
UPDATE usage_events SET input_cost_nano = 0 WHERE input_cost_nano IS NULL;
--> statement-breakpoint
ALTER TABLE usage_events ALTER COLUMN input_cost_nano SET NOT NULL;
