-- Enrichment: the sink copies the product's name, brand and category from
-- the catalog as they are when the event is ingested (NULL when the catalog
-- does not know the sku, or when enrichment is off). Nullable and without a
-- default, so adding them rewrites nothing.
ALTER TABLE store_events
  ADD COLUMN product_name text,
  ADD COLUMN product_brand text,
  ADD COLUMN product_category text;
