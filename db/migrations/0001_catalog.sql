CREATE TYPE "public"."listing_status" AS ENUM('draft', 'published', 'paused');--> statement-breakpoint
CREATE TYPE "public"."modality" AS ENUM('chat', 'completion', 'embeddings');--> statement-breakpoint
CREATE TABLE "listing_prices" (
	"id" uuid PRIMARY KEY NOT NULL,
	"listing_id" uuid NOT NULL,
	"effective_from" timestamp with time zone NOT NULL,
	"input_per1k_nano" bigint NOT NULL,
	"output_per1k_nano" bigint NOT NULL,
	"cached_input_per1k_nano" bigint NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "listing_prices_non_negative" CHECK ("listing_prices"."input_per1k_nano" >= 0 and "listing_prices"."output_per1k_nano" >= 0 and "listing_prices"."cached_input_per1k_nano" >= 0)
);
--> statement-breakpoint
CREATE TABLE "listings" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"slug" text NOT NULL,
	"model_slug" text NOT NULL,
	"name" text NOT NULL,
	"description" text DEFAULT '' NOT NULL,
	"family" text NOT NULL,
	"context_length" integer NOT NULL,
	"modalities" "modality"[] NOT NULL,
	"upstream_base_url" text NOT NULL,
	"upstream_model" text NOT NULL,
	"upstream_credential_enc" text,
	"upstream_credential_last4" text,
	"tokens_per_watt" double precision,
	"energy_hardware" text,
	"energy_method" text,
	"energy_measured_on" date,
	"grid_carbon_g_per_kwh" double precision,
	"region" text,
	"status" "listing_status" DEFAULT 'draft' NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "listings_slug_unique" UNIQUE("slug"),
	CONSTRAINT "listings_context_length_positive" CHECK ("listings"."context_length" > 0),
	CONSTRAINT "listings_tokens_per_watt_positive" CHECK ("listings"."tokens_per_watt" is null or "listings"."tokens_per_watt" > 0)
);
--> statement-breakpoint
ALTER TABLE "listing_prices" ADD CONSTRAINT "listing_prices_listing_id_listings_id_fk" FOREIGN KEY ("listing_id") REFERENCES "public"."listings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "listing_prices" ADD CONSTRAINT "listing_prices_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "listings" ADD CONSTRAINT "listings_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "listings" ADD CONSTRAINT "listings_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "listing_prices_listing_id_effective_from_index" ON "listing_prices" USING btree ("listing_id","effective_from");--> statement-breakpoint
CREATE INDEX "listings_org_id_index" ON "listings" USING btree ("org_id");--> statement-breakpoint
CREATE INDEX "listings_family_index" ON "listings" USING btree ("family");