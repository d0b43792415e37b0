-- The marketplace reads every listing's price in force now in one ordered pass
-- (DISTINCT ON listing_id, latest effective_from first). With the prices included,
-- that pass is an index-only scan: listing_prices is append-only, so autovacuum keeps
-- its visibility map current. Drizzle's index builder cannot express INCLUDE.
CREATE INDEX "listing_prices_current_index" ON "listing_prices" USING btree ("listing_id", "effective_from" DESC) INCLUDE ("input_per1k_nano", "output_per1k_nano", "cached_input_per1k_nano");
