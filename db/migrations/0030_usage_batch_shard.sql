DROP INDEX "usage_batches_unsettled";--> statement-breakpoint
ALTER TABLE "usage_batches" ADD COLUMN "shard" smallint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "usage_batches_unsettled" ON "usage_batches" USING btree ("shard","seq") WHERE "usage_batches"."settled_at" is null;