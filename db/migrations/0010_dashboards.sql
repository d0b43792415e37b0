CREATE TABLE "listing_hourly" (
	"listing_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"provider_org_id" uuid NOT NULL,
	"requests" bigint NOT NULL,
	"errors" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_input_tokens" bigint NOT NULL,
	"cost_nano" bigint NOT NULL,
	"fee_nano" bigint NOT NULL,
	"latency_ms_sum" bigint NOT NULL,
	"ttft_ms_sum" bigint NOT NULL,
	"ttft_count" bigint NOT NULL,
	CONSTRAINT "listing_hourly_listing_id_hour_pk" PRIMARY KEY("listing_id","hour")
);
--> statement-breakpoint
CREATE TABLE "listing_latency_hourly" (
	"listing_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"metric" smallint NOT NULL,
	"bucket" smallint NOT NULL,
	"events" bigint NOT NULL,
	CONSTRAINT "listing_latency_hourly_listing_id_hour_metric_bucket_pk" PRIMARY KEY("listing_id","hour","metric","bucket")
);
--> statement-breakpoint
CREATE TABLE "org_usage_hourly" (
	"org_id" uuid NOT NULL,
	"dimension" smallint NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"group_id" uuid NOT NULL,
	"requests" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_input_tokens" bigint NOT NULL,
	"cost_nano" bigint NOT NULL,
	CONSTRAINT "org_usage_hourly_org_id_dimension_hour_group_id_pk" PRIMARY KEY("org_id","dimension","hour","group_id")
);
--> statement-breakpoint
CREATE INDEX "listing_hourly_provider_org_id_hour_index" ON "listing_hourly" USING btree ("provider_org_id","hour");--> statement-breakpoint
CREATE INDEX "listing_latency_hourly_hour_index" ON "listing_latency_hourly" USING btree ("hour");