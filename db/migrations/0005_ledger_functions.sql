-- Usage cost in nano-USD, the SQL twin of usageCostNano (server/ledger/money.ts):
-- round_half_even((in·p_in + out·p_out + cached·p_cached) / 1000), prices in nano-USD per 1k tokens.
-- Exact in numeric; the final ::bigint raises "bigint out of range" instead of wrapping.
CREATE FUNCTION tm_usage_cost(
  input_tokens bigint, output_tokens bigint, cached_tokens bigint,
  input_per1k_nano bigint, output_per1k_nano bigint, cached_per1k_nano bigint
) RETURNS bigint
-- plpgsql rather than SQL: its locals compute the exact sum once, ~7x faster per row here.
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
AS $$
DECLARE
  n numeric := input_tokens::numeric * input_per1k_nano
             + output_tokens::numeric * output_per1k_nano
             + cached_tokens::numeric * cached_per1k_nano;
  q numeric := div(n, 1000);          -- truncates toward zero
  r numeric := abs(n - q * 1000);     -- |remainder|
BEGIN
  IF r * 2 > 1000 OR (r * 2 = 1000 AND mod(q, 2) <> 0) THEN
    q := q + sign(n);
  END IF;
  RETURN q::bigint;
END
$$;
--> statement-breakpoint
-- Raises from inside a posting statement, which aborts the caller's whole transaction:
-- a failed posting can never be half-applied, even if the caller catches the error.
-- SQLSTATEs: TL402 over a limit, TL404 unknown account, TL409 conflicting state.
CREATE FUNCTION tm_ledger_fail(state text, message text) RETURNS boolean
LANGUAGE plpgsql VOLATILE
AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = state, MESSAGE = message;
END
$$;
--> statement-breakpoint
CREATE FUNCTION tm_ledger_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed (correct a transfer with a reversing transfer)', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'restrict_violation';
END
$$;
--> statement-breakpoint
-- Statement-level, so even an UPDATE or DELETE matching no rows is refused.
CREATE TRIGGER ledger_transfers_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON ledger_transfers
  FOR EACH STATEMENT EXECUTE FUNCTION tm_ledger_append_only();
--> statement-breakpoint
-- Transfers name accounts without per-row foreign keys (see db/schema/ledger.ts); accounts therefore never go away.
CREATE FUNCTION tm_ledger_accounts_keep() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION 'ledger accounts are never deleted (%)', TG_OP USING ERRCODE = 'restrict_violation';
END
$$;
--> statement-breakpoint
CREATE TRIGGER ledger_accounts_keep
  BEFORE DELETE OR TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION tm_ledger_accounts_keep();
