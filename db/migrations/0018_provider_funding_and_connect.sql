CREATE TYPE "public"."connect_payout_status" AS ENUM('created', 'in_transit', 'paid', 'failed', 'reversed');--> statement-breakpoint
ALTER TYPE "public"."ledger_account_kind" ADD VALUE 'provider_unfunded';--> statement-breakpoint
ALTER TYPE "public"."ledger_transfer_code" ADD VALUE 'funding';--> statement-breakpoint
CREATE TABLE "earning_lots" (
	"settlement_id" uuid PRIMARY KEY NOT NULL,
	"buyer_org_id" uuid NOT NULL,
	"provider_org_id" uuid NOT NULL,
	"settled_at" timestamp with time zone NOT NULL,
	"share_nano" bigint NOT NULL,
	"unfunded_nano" bigint NOT NULL,
	CONSTRAINT "earning_lots_unfunded_within_share" CHECK ("earning_lots"."unfunded_nano" >= 0 and "earning_lots"."unfunded_nano" <= "earning_lots"."share_nano")
);
--> statement-breakpoint
CREATE TABLE "connect_accounts" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"stripe_account_id" text NOT NULL,
	"local" boolean NOT NULL,
	"details_submitted" boolean DEFAULT false NOT NULL,
	"payouts_enabled" boolean DEFAULT false NOT NULL,
	"state_as_of" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connect_accounts_stripeAccountId_unique" UNIQUE("stripe_account_id")
);
--> statement-breakpoint
CREATE TABLE "connect_payouts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"run_id" uuid NOT NULL,
	"org_id" uuid NOT NULL,
	"stripe_account_id" text NOT NULL,
	"amount_cents" bigint NOT NULL,
	"status" "connect_payout_status" DEFAULT 'created' NOT NULL,
	"stripe_transfer_id" text,
	"stripe_payout_id" text,
	"reversed_cents" bigint DEFAULT 0 NOT NULL,
	"failure_reason" text,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connect_payouts_stripeTransferId_unique" UNIQUE("stripe_transfer_id"),
	CONSTRAINT "connect_payouts_amount_positive" CHECK ("connect_payouts"."amount_cents" > 0),
	CONSTRAINT "connect_payouts_reversed_within" CHECK ("connect_payouts"."reversed_cents" >= 0 and "connect_payouts"."reversed_cents" <= "connect_payouts"."amount_cents")
);
--> statement-breakpoint
ALTER TABLE "connect_accounts" ADD CONSTRAINT "connect_accounts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connect_payouts" ADD CONSTRAINT "connect_payouts_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connect_payouts" ADD CONSTRAINT "connect_payouts_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "earning_lots_buyer_waiting" ON "earning_lots" USING btree ("buyer_org_id","settled_at","settlement_id") WHERE "earning_lots"."unfunded_nano" > 0;--> statement-breakpoint
CREATE INDEX "earning_lots_provider_waiting" ON "earning_lots" USING btree ("provider_org_id") WHERE "earning_lots"."unfunded_nano" > 0;--> statement-breakpoint
CREATE UNIQUE INDEX "connect_payouts_run_org" ON "connect_payouts" USING btree ("run_id","org_id");--> statement-breakpoint
CREATE INDEX "connect_payouts_org_id_created_at_index" ON "connect_payouts" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "connect_payouts_unsent" ON "connect_payouts" USING btree ("created_at") WHERE "connect_payouts"."stripe_transfer_id" is null and "connect_payouts"."status" = 'created';