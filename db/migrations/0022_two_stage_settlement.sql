ALTER TYPE "public"."ledger_account_kind" ADD VALUE 'usage_clearing';--> statement-breakpoint
CREATE TABLE "usage_batches" (
	"seq" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "usage_batches_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"events" integer NOT NULL,
	"window_id" uuid,
	"settled_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "usage_windows" (
	"id" uuid PRIMARY KEY NOT NULL,
	"batches" integer NOT NULL,
	"events" integer NOT NULL,
	"cost_nano" bigint NOT NULL,
	"fee_nano" bigint NOT NULL,
	"lag_ms" integer NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "reservations" ADD COLUMN "pending_usage_nano" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "usage_batches_unsettled" ON "usage_batches" USING btree ("seq") WHERE "usage_batches"."settled_at" is null;--> statement-breakpoint
CREATE INDEX "usage_batches_window" ON "usage_batches" USING btree ("window_id");--> statement-breakpoint
CREATE INDEX "usage_batches_settled_at" ON "usage_batches" USING btree ("settled_at");--> statement-breakpoint
CREATE INDEX "usage_windows_created_at_index" ON "usage_windows" USING btree ("created_at");--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_pending_usage" CHECK ("reservations"."pending_usage_nano" >= 0);