CREATE TABLE "listing_energy_readings" (
	"listing_id" uuid NOT NULL,
	"hour" timestamp with time zone NOT NULL,
	"joules" double precision NOT NULL,
	"tokens_served" bigint NOT NULL,
	"reported_by" uuid NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "listing_energy_readings_listing_id_hour_pk" PRIMARY KEY("listing_id","hour"),
	CONSTRAINT "listing_energy_readings_joules" CHECK ("listing_energy_readings"."joules" >= 0 and "listing_energy_readings"."joules" < 'Infinity'::float8),
	CONSTRAINT "listing_energy_readings_tokens" CHECK ("listing_energy_readings"."tokens_served" >= 0),
	CONSTRAINT "listing_energy_readings_hour" CHECK (extract(epoch from "listing_energy_readings"."hour") % 3600 = 0)
);
--> statement-breakpoint
ALTER TABLE "listing_energy_readings" ADD CONSTRAINT "listing_energy_readings_listing_id_listings_id_fk" FOREIGN KEY ("listing_id") REFERENCES "public"."listings"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "listing_energy_readings" ADD CONSTRAINT "listing_energy_readings_reported_by_organizations_id_fk" FOREIGN KEY ("reported_by") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;