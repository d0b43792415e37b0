CREATE TYPE "public"."ledger_account_kind" AS ENUM('buyer_credits', 'buyer_receivable', 'provider_payable', 'platform_revenue', 'payments_clearing', 'payment_fees', 'payouts', 'usage_holds', 'promotions', 'adjustments');--> statement-breakpoint
CREATE TYPE "public"."ledger_pending_status" AS ENUM('open', 'posted', 'voided', 'expired');--> statement-breakpoint
CREATE TYPE "public"."ledger_transfer_code" AS ENUM('topup', 'usage', 'reservation', 'refund', 'dispute', 'payment_fee', 'payout', 'promotion', 'adjustment', 'reversal');--> statement-breakpoint
CREATE TYPE "public"."ledger_transfer_type" AS ENUM('single', 'pending', 'post_pending', 'void_pending', 'expire_pending');--> statement-breakpoint
CREATE TABLE "ledger_accounts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid,
	"kind" "ledger_account_kind" NOT NULL,
	"currency" text DEFAULT 'USD' NOT NULL,
	"debits_posted" bigint DEFAULT 0 NOT NULL,
	"credits_posted" bigint DEFAULT 0 NOT NULL,
	"debits_pending" bigint DEFAULT 0 NOT NULL,
	"credits_pending" bigint DEFAULT 0 NOT NULL,
	"credit_limit_nano" bigint DEFAULT 0 NOT NULL,
	"debits_must_not_exceed_credits" boolean DEFAULT false NOT NULL,
	"credits_must_not_exceed_debits" boolean DEFAULT false NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ledger_accounts_owner_kind_currency" UNIQUE NULLS NOT DISTINCT("org_id","kind","currency"),
	CONSTRAINT "ledger_accounts_sums_non_negative" CHECK ("ledger_accounts"."debits_posted" >= 0 and "ledger_accounts"."credits_posted" >= 0 and "ledger_accounts"."debits_pending" >= 0 and "ledger_accounts"."credits_pending" >= 0 and "ledger_accounts"."credit_limit_nano" >= 0),
	CONSTRAINT "ledger_accounts_one_limit_flag" CHECK (not ("ledger_accounts"."debits_must_not_exceed_credits" and "ledger_accounts"."credits_must_not_exceed_debits")),
	CONSTRAINT "ledger_accounts_debit_limit" CHECK (not "ledger_accounts"."debits_must_not_exceed_credits" or "ledger_accounts"."debits_posted" + "ledger_accounts"."debits_pending" <= "ledger_accounts"."credits_posted" + "ledger_accounts"."credit_limit_nano"),
	CONSTRAINT "ledger_accounts_credit_limit" CHECK (not "ledger_accounts"."credits_must_not_exceed_debits" or "ledger_accounts"."credits_posted" + "ledger_accounts"."credits_pending" <= "ledger_accounts"."debits_posted" + "ledger_accounts"."credit_limit_nano"),
	CONSTRAINT "ledger_accounts_currency" CHECK ("ledger_accounts"."currency" ~ '^[A-Z]{3}$')
);
--> statement-breakpoint
CREATE TABLE "ledger_pending" (
	"pending_id" uuid PRIMARY KEY NOT NULL,
	"debit_account_id" uuid NOT NULL,
	"credit_account_id" uuid NOT NULL,
	"amount_nano" bigint NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"status" "ledger_pending_status" DEFAULT 'open' NOT NULL,
	"resolved_by" uuid,
	CONSTRAINT "ledger_pending_resolved_by" CHECK (("ledger_pending"."status" = 'open') = ("ledger_pending"."resolved_by" is null))
);
--> statement-breakpoint
CREATE TABLE "ledger_transfers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"debit_account_id" uuid NOT NULL,
	"credit_account_id" uuid NOT NULL,
	"amount_nano" bigint NOT NULL,
	"type" "ledger_transfer_type" DEFAULT 'single' NOT NULL,
	"pending_id" uuid,
	"expires_at" timestamp with time zone,
	"code" "ledger_transfer_code" NOT NULL,
	"ref_kind" text,
	"ref_id" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "ledger_transfers_amount_positive" CHECK ("ledger_transfers"."amount_nano" > 0),
	CONSTRAINT "ledger_transfers_distinct_accounts" CHECK ("ledger_transfers"."debit_account_id" <> "ledger_transfers"."credit_account_id"),
	CONSTRAINT "ledger_transfers_resolution_has_pending_id" CHECK (("ledger_transfers"."pending_id" is not null) = ("ledger_transfers"."type" in ('post_pending', 'void_pending', 'expire_pending'))),
	CONSTRAINT "ledger_transfers_pending_has_expiry" CHECK (("ledger_transfers"."expires_at" is not null) = ("ledger_transfers"."type" = 'pending')),
	CONSTRAINT "ledger_transfers_ref_complete" CHECK (("ledger_transfers"."ref_kind" is null) = ("ledger_transfers"."ref_id" is null))
);
--> statement-breakpoint
ALTER TABLE "ledger_accounts" ADD CONSTRAINT "ledger_accounts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_pending" ADD CONSTRAINT "ledger_pending_pending_id_ledger_transfers_id_fk" FOREIGN KEY ("pending_id") REFERENCES "public"."ledger_transfers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_pending" ADD CONSTRAINT "ledger_pending_resolved_by_ledger_transfers_id_fk" FOREIGN KEY ("resolved_by") REFERENCES "public"."ledger_transfers"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ledger_pending_open_expiry" ON "ledger_pending" USING btree ("expires_at") WHERE "ledger_pending"."status" = 'open';--> statement-breakpoint
CREATE UNIQUE INDEX "ledger_transfers_one_resolution" ON "ledger_transfers" USING btree ("pending_id") WHERE "ledger_transfers"."pending_id" is not null;--> statement-breakpoint
CREATE INDEX "ledger_transfers_debit_account" ON "ledger_transfers" USING btree ("debit_account_id");--> statement-breakpoint
CREATE INDEX "ledger_transfers_credit_account" ON "ledger_transfers" USING btree ("credit_account_id");