CREATE TABLE "sign_up_attempts" (
	"id" uuid PRIMARY KEY NOT NULL,
	"ip" text,
	"at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "reservations" ADD COLUMN "service_org_id" uuid;--> statement-breakpoint
CREATE INDEX "sign_up_attempts_ip_at_index" ON "sign_up_attempts" USING btree ("ip","at");--> statement-breakpoint
CREATE INDEX "sign_up_attempts_at_index" ON "sign_up_attempts" USING btree ("at");--> statement-breakpoint
ALTER TABLE "reservations" ADD CONSTRAINT "reservations_service_org_id_organizations_id_fk" FOREIGN KEY ("service_org_id") REFERENCES "public"."organizations"("id") ON DELETE no action ON UPDATE no action;