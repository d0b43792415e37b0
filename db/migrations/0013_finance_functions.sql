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
-- Finance's reads of the ledger and of usage, chosen for what they cost settlement: every
-- index entry is paid on each posting (see 0007_ledger_indexes). By time, on an
-- always-increasing key (the journal newest first, trial balance at a date, a period's
-- reports; other journal filters ride on the time order).
CREATE INDEX ledger_transfers_created ON ledger_transfers (created_at);
--> statement-breakpoint
-- By reference (drill-down from a payment, refund, dispute, payout or reversal), leaving out
-- the high-volume usage and reservation references: their transfers are found through the
-- settlement (same transaction, same created_at) instead.
CREATE INDEX ledger_transfers_ref ON ledger_transfers (ref_id) WHERE ref_kind NOT IN ('usage_settlement', 'reservation');
--> statement-breakpoint
-- A settlement's events and a period's events: BRIN on the append-ordered settled_at.
CREATE INDEX usage_events_settled ON usage_events USING brin (settled_at);
