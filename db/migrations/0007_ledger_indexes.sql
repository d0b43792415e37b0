DROP INDEX "ledger_transfers_one_resolution";--> statement-breakpoint
DROP INDEX "ledger_transfers_debit_account";--> statement-breakpoint
DROP INDEX "ledger_transfers_credit_account";--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_transfers_one_resolution" ON "ledger_transfers" USING btree ("pending_id") WHERE "ledger_transfers"."pending_id" is not null;--> statement-breakpoint
CREATE INDEX "ledger_transfers_debit_account" ON "ledger_transfers" USING btree ("debit_account_id");--> statement-breakpoint
CREATE INDEX "ledger_transfers_credit_account" ON "ledger_transfers" USING btree ("credit_account_id");