-- Settlement windows post several legs each (per buyer, per provider) with ref ('usage_window', id).
-- Finance finds them through the window (its legs share the window's created_at), so, like
-- the usage_settlement and reservation references, they stay out of the by-reference index
-- and cost settlement no index entry.
DROP INDEX ledger_transfers_ref;
--> statement-breakpoint
CREATE INDEX ledger_transfers_ref ON ledger_transfers (ref_id) WHERE ref_kind NOT IN ('usage_settlement', 'reservation', 'usage_window');
