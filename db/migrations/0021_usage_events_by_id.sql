-- Two-stage settlement (server/usage/ingest.ts, server/usage/settler.ts). usage_events is
-- now partitioned by the time prefix of its UUIDv7 id (monthly), so its primary key is the
-- id alone and enforces exactly once forever without the separate claims table
-- usage_event_ids (dropped by drop_usage_event_ids after its fingerprints move here).
-- New events carry the batch (usage_batches.seq) that accepted them; they are settled when
-- a window takes that batch. Events settled before this migration keep their settlement_id
-- and settled_at and get batch_seq 0 (no batch).

-- The UUIDv7 whose 48-bit time prefix is `ts` (milliseconds) and whose other bits are 0:
-- the lowest id of that millisecond, the bound of an id-range partition.
CREATE FUNCTION tm_uuid_floor(ts timestamptz) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '00000000000000000000')::uuid $$;
--> statement-breakpoint
-- The time a UUIDv7 was made (its first 48 bits, milliseconds since 1970).
CREATE FUNCTION tm_uuid_time(id uuid) RETURNS timestamptz
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT to_timestamp(('x' || lpad(replace(left(id::text, 13), '-', ''), 16, '0'))::bit(64)::bigint / 1000.0) $$;
--> statement-breakpoint
ALTER TABLE usage_events RENAME TO usage_events_by_start;
--> statement-breakpoint
ALTER INDEX usage_events_org_started_index RENAME TO usage_events_by_start_org_started;
--> statement-breakpoint
ALTER INDEX usage_events_settled RENAME TO usage_events_by_start_settled;
--> statement-breakpoint
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'usage_events_by_start'::regclass LOOP
    EXECUTE format('ALTER TABLE %I RENAME TO %I', r.relname, 'old_' || r.relname);
  END LOOP;
END
$$;
--> statement-breakpoint
CREATE TABLE usage_events (
  -- The reporter's UUIDv7 (the request's generation id); its time prefix places the row.
  id uuid NOT NULL PRIMARY KEY,
  started_at timestamptz NOT NULL,
  first_token_at timestamptz,
  ended_at timestamptz NOT NULL,
  -- The buyer organisation (the key's) and the provider organisation (the listing's).
  org_id uuid NOT NULL,
  key_id uuid NOT NULL,
  listing_id uuid NOT NULL,
  provider_org_id uuid NOT NULL,
  reservation_id uuid,
  input_tokens integer NOT NULL CHECK (input_tokens >= 0),
  output_tokens integer NOT NULL CHECK (output_tokens >= 0),
  cached_input_tokens integer NOT NULL CHECK (cached_input_tokens >= 0),
  status text NOT NULL CHECK (status IN ('ok', 'error', 'aborted')),
  estimated boolean NOT NULL,
  upstream_status smallint,
  -- The listing_prices row in force at started_at, and what it made the event cost.
  price_id uuid NOT NULL,
  cost_nano bigint NOT NULL CHECK (cost_nano >= 0),
  -- The platform's part of cost_nano (the provider's is the rest).
  fee_nano bigint NOT NULL CHECK (fee_nano >= 0 AND fee_nano <= cost_nano),
  -- A digest of the reported fields: a resend is told from a different event under the same id.
  fingerprint uuid NOT NULL,
  -- usage_batches.seq of the report that accepted it (0: settled before batches existed).
  batch_seq bigint NOT NULL,
  -- Only events settled before two-stage settlement: their usage_settlements row and its time.
  settlement_id uuid,
  settled_at timestamptz
) PARTITION BY RANGE (id);
--> statement-breakpoint
-- Creates the monthly partitions (usage_events_YYYY_MM, UTC months of the ids' time)
-- covering [from_ts, to_ts]. Idempotent and safe to run concurrently.
CREATE OR REPLACE FUNCTION tm_usage_ensure_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
LANGUAGE plpgsql
AS $$
DECLARE
  m timestamp := date_trunc('month', from_ts AT TIME ZONE 'UTC');
  last_m timestamp := date_trunc('month', to_ts AT TIME ZONE 'UTC');
  created integer := 0;
  name text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('tm_usage_ensure_partitions'));
  WHILE m <= last_m LOOP
    name := format('usage_events_%s', to_char(m, 'YYYY_MM'));
    IF to_regclass(name) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF usage_events FOR VALUES FROM (%L) TO (%L)',
        name, tm_uuid_floor(m AT TIME ZONE 'UTC'), tm_uuid_floor((m + interval '1 month') AT TIME ZONE 'UTC'));
      created := created + 1;
    END IF;
    m := m + interval '1 month';
  END LOOP;
  RETURN created;
END
$$;
--> statement-breakpoint
SELECT tm_usage_ensure_partitions(now() - interval '2 months', now() + interval '3 months');
--> statement-breakpoint
SELECT tm_usage_ensure_partitions(m, m) FROM (SELECT DISTINCT date_trunc('month', tm_uuid_time(id)) AS m FROM usage_events_by_start) months;
--> statement-breakpoint
INSERT INTO usage_events (id, started_at, first_token_at, ended_at, org_id, key_id, listing_id, provider_org_id, reservation_id,
                          input_tokens, output_tokens, cached_input_tokens, status, estimated, upstream_status, price_id, cost_nano, fee_nano,
                          fingerprint, batch_seq, settlement_id, settled_at)
SELECT e.id, e.started_at, e.first_token_at, e.ended_at, e.org_id, e.key_id, e.listing_id, e.provider_org_id, e.reservation_id,
       e.input_tokens, e.output_tokens, e.cached_input_tokens, e.status, e.estimated, e.upstream_status, e.price_id, e.cost_nano, e.fee_nano,
       i.fingerprint, 0, e.settlement_id, e.settled_at
FROM usage_events_by_start e JOIN usage_event_ids i ON i.id = e.id;
--> statement-breakpoint
DROP TABLE usage_events_by_start;
--> statement-breakpoint
-- Dashboards' activity list (a buyer's newest events).
CREATE INDEX usage_events_org_started_index ON usage_events (org_id, started_at DESC, id DESC);
--> statement-breakpoint
-- A window's and a period's events: batches are appended in sequence order.
CREATE INDEX usage_events_batch ON usage_events USING brin (batch_seq);
--> statement-breakpoint
-- Events settled before two-stage settlement, by their settlement (new events carry none, so cost nothing here).
CREATE INDEX usage_events_legacy_settlement ON usage_events (settlement_id) WHERE settlement_id IS NOT NULL;
