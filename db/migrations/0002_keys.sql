CREATE TYPE "public"."key_limit_period" AS ENUM('daily', 'weekly', 'monthly', 'lifetime');--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"org_id" uuid NOT NULL,
	"lineage_id" uuid NOT NULL,
	"name" text NOT NULL,
	"prefix" text NOT NULL,
	"last4" text NOT NULL,
	"hash" text NOT NULL,
	"created_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"last_used_at" timestamp with time zone,
	"expires_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"spend_limit_nano" bigint,
	"limit_period" "key_limit_period",
	"model_allowlist" text[] DEFAULT '{}'::text[] NOT NULL,
	"rpm_limit" integer,
	"tpm_limit" integer,
	"rotated_from_id" uuid,
	"changed_version" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "api_keys_spend_limit_positive" CHECK ("api_keys"."spend_limit_nano" is null or "api_keys"."spend_limit_nano" > 0),
	CONSTRAINT "api_keys_limit_has_period" CHECK (("api_keys"."spend_limit_nano" is null) = ("api_keys"."limit_period" is null)),
	CONSTRAINT "api_keys_rpm_positive" CHECK ("api_keys"."rpm_limit" is null or "api_keys"."rpm_limit" > 0),
	CONSTRAINT "api_keys_tpm_positive" CHECK ("api_keys"."tpm_limit" is null or "api_keys"."tpm_limit" > 0)
);
--> statement-breakpoint
CREATE TABLE "key_spend_daily" (
	"org_id" uuid NOT NULL,
	"key_id" uuid NOT NULL,
	"day" date NOT NULL,
	"spend_nano" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "key_spend_daily_key_id_day_pk" PRIMARY KEY("key_id","day"),
	CONSTRAINT "key_spend_daily_non_negative" CHECK ("key_spend_daily"."spend_nano" >= 0)
);
--> statement-breakpoint
CREATE TABLE "key_state" (
	"id" smallint PRIMARY KEY DEFAULT 1 NOT NULL,
	"version" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "key_state_single_row" CHECK ("key_state"."id" = 1)
);
--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "api_keys" ADD CONSTRAINT "api_keys_created_by_users_id_fk" FOREIGN KEY ("created_by") REFERENCES "public"."users"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_spend_daily" ADD CONSTRAINT "key_spend_daily_org_id_organizations_id_fk" FOREIGN KEY ("org_id") REFERENCES "public"."organizations"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "key_spend_daily" ADD CONSTRAINT "key_spend_daily_key_id_api_keys_id_fk" FOREIGN KEY ("key_id") REFERENCES "public"."api_keys"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_index" ON "api_keys" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "api_keys_org_id_created_at_index" ON "api_keys" USING btree ("org_id","created_at");--> statement-breakpoint
CREATE INDEX "api_keys_lineage_id_index" ON "api_keys" USING btree ("lineage_id");--> statement-breakpoint
CREATE INDEX "api_keys_changed_version_index" ON "api_keys" USING btree ("changed_version");