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
CREATE INDEX "earning_lots_buyer_waiting" ON "earning_lots" USING btree ("buyer_org_id","settled_at","settlement_id") WHERE "earning_lots"."unfunded_nano" > 0;--> statement-breakpoint
CREATE INDEX "earning_lots_provider_waiting" ON "earning_lots" USING btree ("provider_org_id") WHERE "earning_lots"."unfunded_nano" > 0;