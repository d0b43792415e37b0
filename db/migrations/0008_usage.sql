CREATE TABLE "provider_fee_overrides" (
	"org_id" uuid PRIMARY KEY NOT NULL,
	"fee_bps" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "provider_fee_overrides_bps" CHECK ("provider_fee_overrides"."fee_bps" between 0 and 10000)
);
--> statement-breakpoint
CREATE TABLE "reservations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"key_id" uuid NOT NULL,
	"lineage_id" uuid NOT NULL,
	"requested_nano" bigint NOT NULL,
	"amount_nano" bigint NOT NULL,
	"limited_by" text,
	"consumed_nano" bigint DEFAULT 0 NOT NULL,
	"released_nano" bigint DEFAULT 0 NOT NULL,
	"held_nano" bigint DEFAULT 0 NOT NULL,
	"hold_transfer_id" uuid,
	"expires_at" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "reservations_amounts" CHECK ("reservations"."amount_nano" >= 0 and "reservations"."consumed_nano" >= 0 and "reservations"."released_nano" >= 0 and "reservations"."held_nano" >= 0
          and "reservations"."consumed_nano" + "reservations"."released_nano" + "reservations"."held_nano" <= "reservations"."amount_nano" and "reservations"."amount_nano" <= "reservations"."requested_nano"),
	CONSTRAINT "reservations_limited_by" CHECK ("reservations"."limited_by" is null or "reservations"."limited_by" in ('credit', 'key_limit', 'blocked'))
);
--> statement-breakpoint
CREATE TABLE "usage_conflicts" (
	"id" uuid NOT NULL,
	"fingerprint" uuid NOT NULL,
	"settled_fingerprint" uuid NOT NULL,
	"event" jsonb NOT NULL,
	"reports" integer DEFAULT 1 NOT NULL,
	"first_reported_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_reported_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "usage_conflicts_id_fingerprint_pk" PRIMARY KEY("id","fingerprint")
);
--> statement-breakpoint
CREATE TABLE "usage_event_ids" (
	"id" uuid PRIMARY KEY NOT NULL,
	"started_at" timestamp with time zone NOT NULL,
	"fingerprint" uuid NOT NULL,
	"cost_nano" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "usage_hourly" (
	"org_id" uuid NOT NULL,
	"key_id" uuid NOT NULL,
	"listing_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"requests" bigint NOT NULL,
	"input_tokens" bigint NOT NULL,
	"output_tokens" bigint NOT NULL,
	"cached_input_tokens" bigint NOT NULL,
	"cost_nano" bigint NOT NULL,
	"errors" bigint NOT NULL,
	"latency_ms_sum" bigint NOT NULL,
	"ttft_ms_sum" bigint NOT NULL,
	"ttft_count" bigint NOT NULL,
	CONSTRAINT "usage_hourly_org_id_key_id_listing_id_hour_pk" PRIMARY KEY("org_id","key_id","listing_id","hour")
);
--> statement-breakpoint
CREATE TABLE "usage_settlements" (
	"id" uuid PRIMARY KEY NOT NULL,
	"batch_id" uuid NOT NULL,
	"buyer_org_id" uuid NOT NULL,
	"provider_org_id" uuid NOT NULL,
	"events" integer NOT NULL,
	"cost_nano" bigint NOT NULL,
	"fee_nano" bigint NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "provider_fee_overrides" ADD CONSTRAINT "provider_fee_overrides_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_key_id_api_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."api_keys"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "reservations_lineage_id_expires_at_index" ON "reservations" USING btree ("lineage_id","expires_at");--> statement-breakpoint
CREATE INDEX "usage_settlements_created_at_index" ON "usage_settlements" USING btree ("created_at");