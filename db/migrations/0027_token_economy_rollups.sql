ALTER TABLE "usage_hourly" ADD COLUMN "energy_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "usage_hourly" ADD COLUMN "energy_joules" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "listing_hourly" ADD COLUMN "useful_output_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "listing_hourly" ADD COLUMN "wasted_cost_nano" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "listing_hourly" ADD COLUMN "energy_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "listing_hourly" ADD COLUMN "energy_joules" double precision DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "org_usage_hourly" ADD COLUMN "useful_output_tokens" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "org_usage_hourly" ADD COLUMN "wasted_cost_nano" bigint DEFAULT 0 NOT NULL;