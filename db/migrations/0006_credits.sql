CREATE TYPE "public"."payment_adjustment_kind" AS ENUM('refund', 'dispute_opened', 'dispute_fee', 'dispute_won');--> statement-breakpoint
CREATE TYPE "public"."payment_mode" AS ENUM('stripe', 'local');--> statement-breakpoint
CREATE TYPE "public"."topup_status" AS ENUM('open', 'paid', 'failed', 'expired');--> statement-breakpoint
CREATE SEQUENCE "public"."receipt_number_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1000 CACHE 1;--> statement-breakpoint
CREATE TABLE "credit_settings" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"low_balance_threshold_nano" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "payment_adjustments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"topup_id" uuid NOT NULL,
	"kind" "payment_adjustment_kind" NOT NULL,
	"external_id" text NOT NULL,
	"amount_nano" bigint NOT NULL,
	"stripe_event_id" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "stripe_events" (
	"id" text PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"livemode" boolean NOT NULL,
	"local" boolean NOT NULL,
	"payload" jsonb NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"processed_at" timestamp with time zone,
	"last_error" text
);
--> statement-breakpoint
CREATE TABLE "topups" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"created_by" text,
	"amount_cents" integer NOT NULL,
	"currency" text DEFAULT 'usd' NOT NULL,
	"mode" "payment_mode" NOT NULL,
	"status" "topup_status" DEFAULT 'open' NOT NULL,
	"checkout_session_id" text,
	"payment_intent_id" text,
	"checkout_url" text,
	"receipt_number" integer,
	"refunded_cents" integer DEFAULT 0 NOT NULL,
	"paid_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "topups_checkoutSessionId_unique" UNIQUE("checkout_session_id"),
	CONSTRAINT "topups_paymentIntentId_unique" UNIQUE("payment_intent_id"),
	CONSTRAINT "topups_receiptNumber_unique" UNIQUE("receipt_number"),
	CONSTRAINT "topups_amount_positive" CHECK ("topups"."amount_cents" > 0)
);
--> statement-breakpoint
ALTER TABLE "credit_settings" ADD CONSTRAINT "credit_settings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_adjustments" ADD CONSTRAINT "payment_adjustments_topup_id_topups_id_fk" FOREIGN KEY ("topup_id") REFERENCES "public"."topups"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "payment_adjustments" ADD CONSTRAINT "payment_adjustments_stripe_event_id_stripe_events_id_fk" FOREIGN KEY ("stripe_event_id") REFERENCES "public"."stripe_events"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topups" ADD CONSTRAINT "topups_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "topups" ADD CONSTRAINT "topups_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "payment_adjustments_kind_external_id_index" ON "payment_adjustments" USING btree ("kind","external_id");--> statement-breakpoint
CREATE INDEX "payment_adjustments_topup_id_index" ON "payment_adjustments" USING btree ("topup_id");--> statement-breakpoint
CREATE INDEX "topups_org_id_created_at_index" ON "topups" USING btree ("org_id","created_at");