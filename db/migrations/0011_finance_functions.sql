-- A closed month takes no postings: checked in the database so that no code path
-- (settlement, payments, finance, a psql session) can date a transfer inside it.
-- Statement-level with a transition table: one lookup per posting statement, not per leg.
-- SQLSTATE TL423 (the ledger's TL4xx family): the posting is refused, the transaction aborts.
CREATE FUNCTION tm_refuse_closed_period() RETURNS trigger
LANGUAGE plpgsql
AS $$
DECLARE
  hit record;
BEGIN
  SELECT n.id, n.created_at, p.month INTO hit
  FROM new_transfers n JOIN accounting_periods p ON n.created_at >= p.starts_at AND n.created_at < p.ends_at
  LIMIT 1;
  IF FOUND THEN
    RAISE EXCEPTION 'the accounting period % is closed: transfer % dated % cannot be posted in it (post a correction in the open period)',
      to_char(hit.month, 'YYYY-MM'), hit.id, hit.created_at
      USING ERRCODE = 'TL423';
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE TRIGGER ledger_transfers_closed_period
  AFTER INSERT ON ledger_transfers
  REFERENCING NEW TABLE AS new_transfers
  FOR EACH STATEMENT EXECUTE FUNCTION tm_refuse_closed_period();
--> statement-breakpoint
-- Closed periods and the audit log are records of what happened: never rewritten.
CREATE FUNCTION tm_finance_append_only() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'restrict_violation';
END
$$;
--> statement-breakpoint
CREATE TRIGGER accounting_periods_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON accounting_periods
  FOR EACH STATEMENT EXECUTE FUNCTION tm_finance_append_only();
--> statement-breakpoint
CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION tm_finance_append_only();
--> statement-breakpoint
-- Finance's reads of the ledger, kept to two narrow indexes because every index entry is
-- paid on each posting (see 0007_ledger_indexes): by reference (drill-down, payments and
-- usage reconciliation join on ref_id) and by time (the journal newest first, trial balance
-- at a date, a period's reports); other journal filters ride on the time order.
CREATE INDEX ledger_transfers_ref ON ledger_transfers (ref_id);
--> statement-breakpoint
CREATE INDEX ledger_transfers_created ON ledger_transfers (created_at);
--> statement-breakpoint
-- Finance's drill-down from a usage transfer to the events its settlement covered.
CREATE INDEX usage_events_settlement ON usage_events (settlement_id);
