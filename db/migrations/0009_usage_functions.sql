-- Usage events, partitioned by month on started_at (dashboards read usage_hourly; finance
-- reads a period's partitions). Exactly-once is enforced by usage_event_ids, because the
-- primary key of a partitioned table must include the partition key.
CREATE TABLE usage_events (
  id uuid NOT NULL,
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
  -- usage_settlements.id: the ledger transfers with ref ('usage_settlement', settlement_id) settled it.
  settlement_id uuid NOT NULL,
  settled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (id, started_at)
) PARTITION BY RANGE (started_at);
--> statement-breakpoint
-- Creates the monthly partitions (usage_events_YYYY_MM, UTC months) covering [from_ts, to_ts].
-- Idempotent and safe to run concurrently (an advisory lock serialises creators).
CREATE FUNCTION tm_usage_ensure_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
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
        name, (m AT TIME ZONE 'UTC'), ((m + interval '1 month') AT TIME ZONE 'UTC'));
      created := created + 1;
    END IF;
    m := m + interval '1 month';
  END LOOP;
  RETURN created;
END
$$;
--> statement-breakpoint
-- The months around the migration; the worker keeps creating the coming ones, and
-- settlement ensures the months a batch touches before inserting.
SELECT tm_usage_ensure_partitions(now() - interval '2 months', now() + interval '3 months');
--> statement-breakpoint
-- The platform fee of a usage cost, the SQL twin of splitFee (server/ledger/money.ts):
-- round_half_even(cost · bps / 10 000), nano-USD.
CREATE FUNCTION tm_fee_nano(cost_nano bigint, fee_bps integer) RETURNS bigint
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
  n numeric := cost_nano::numeric * fee_bps;
  q numeric := div(n, 10000);
  r numeric := abs(n - q * 10000);
BEGIN
  IF r * 2 > 10000 OR (r * 2 = 10000 AND mod(q, 2) <> 0) THEN
    q := q + sign(n);
  END IF;
  RETURN q::bigint;
END
$$;
