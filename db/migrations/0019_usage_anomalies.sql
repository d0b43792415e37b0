CREATE TABLE "usage_anomalies" (
	"event_id" uuid PRIMARY KEY NOT NULL,
	"listing_id" uuid NOT NULL,
	"provider_org_id" uuid NOT NULL,
	"key_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"reported_input_tokens" bigint NOT NULL,
	"reported_output_tokens" bigint NOT NULL,
	"reported_cached_input_tokens" bigint NOT NULL,
	"billed_input_tokens" integer NOT NULL,
	"billed_output_tokens" integer NOT NULL,
	"billed_cached_input_tokens" integer NOT NULL,
	"billed_cost_nano" bigint NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE INDEX "usage_anomalies_started_at" ON "usage_anomalies" USING btree ("started_at");