CREATE TABLE "listing_economy" (
	"window_hours" smallint NOT NULL,
	"listing_id" uuid NOT NULL,
	"requests" bigint NOT NULL,
	"cost_nano" bigint NOT NULL,
	"wasted_cost_nano" bigint NOT NULL,
	"useful_output_tokens" bigint NOT NULL,
	"input_cost_nano" bigint NOT NULL,
	"cput_per1m" numeric,
	"energy_tokens" double precision NOT NULL,
	"energy_joules" double precision NOT NULL,
	"energy_hours" integer NOT NULL,
	"measured_tpj" double precision,
	"ttft_bucket" smallint,
	"tps_bucket" smallint,
	"standard_latency_ms" double precision,
	"refreshed_at" timestamp with time zone NOT NULL,
	CONSTRAINT "listing_economy_window_hours_listing_id_pk" PRIMARY KEY("window_hours","listing_id")
);
--> statement-breakpoint
ALTER TABLE "listing_hourly" ADD COLUMN "input_cost_nano" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "org_usage_hourly" ADD COLUMN "input_cost_nano" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "listing_economy_window_hours_cput_per1m_index" ON "listing_economy" USING btree ("window_hours","cput_per1m");--> statement-breakpoint
CREATE INDEX "listing_economy_window_hours_measured_tpj_index" ON "listing_economy" USING btree ("window_hours","measured_tpj");--> statement-breakpoint
CREATE INDEX "listing_economy_window_hours_tps_bucket_index" ON "listing_economy" USING btree ("window_hours","tps_bucket");--> statement-breakpoint
CREATE INDEX "listing_economy_window_hours_ttft_bucket_index" ON "listing_economy" USING btree ("window_hours","ttft_bucket");--> statement-breakpoint
CREATE INDEX "listing_economy_window_hours_standard_latency_ms_index" ON "listing_economy" USING btree ("window_hours","standard_latency_ms");