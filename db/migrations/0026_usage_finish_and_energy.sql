-- Finish reasons and measured energy on usage events (issue #21; server/usage/contract.ts).
-- usage_events is partitioned (custom migration usage_events_by_id), so Drizzle does not manage it:
-- columns added to the parent reach every partition. Both are null on events reported without them
-- (old proxies, and every event before this migration); neither takes part in pricing.
ALTER TABLE usage_events
  -- The upstream's finish reason, normalised by the proxy (server/gateway/finish-energy.ts).
  ADD COLUMN finish_reason text CONSTRAINT usage_events_finish_reason
    CHECK (finish_reason IN ('stop', 'length', 'tool_calls', 'content_filter', 'error', 'aborted', 'unknown')),
  -- The energy the upstream reported the response took, joules: physical, not money. NaN sorts above 'Infinity'.
  ADD COLUMN energy_joules double precision CONSTRAINT usage_events_energy_joules
    CHECK (energy_joules >= 0 AND energy_joules < 'Infinity'::float8);
