-- Reference data: the catalog of categories and products the store events
-- name by a category string and a sku. Loaded with `millrace catalog load`,
-- or edited by hand; the change feed publishes both tables when they are in
-- its publication (millrace changefeed publish lists them by default).

CREATE TABLE categories (
  -- The name the events carry: the stable key.
  name         text        PRIMARY KEY CHECK (name <> '' AND length(name) <= 100),
  display_name text        NOT NULL CHECK (display_name <> '' AND length(display_name) <= 200),
  description  text        CHECK (length(description) <= 2000),
  active       boolean     NOT NULL DEFAULT true,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
  sku          bigint        PRIMARY KEY CHECK (sku > 0),
  name         text          NOT NULL CHECK (name <> '' AND length(name) <= 200),
  brand        text          CHECK (length(brand) <= 100),
  -- A product's category must be in the catalog; a category in use cannot
  -- be deleted (mark it inactive instead).
  category     text          NOT NULL REFERENCES categories (name),
  list_price   numeric(12,2) NOT NULL CHECK (list_price >= 0),
  active       boolean       NOT NULL DEFAULT true,
  updated_at   timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX products_category ON products (category);

-- updated_at follows every change, however it is made (a load, or an
-- UPDATE by hand).
CREATE FUNCTION catalog_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.updated_at := now();
  RETURN NEW;
END $$;
CREATE TRIGGER categories_touch BEFORE UPDATE ON categories
  FOR EACH ROW EXECUTE FUNCTION catalog_touch();
CREATE TRIGGER products_touch BEFORE UPDATE ON products
  FOR EACH ROW EXECUTE FUNCTION catalog_touch();

-- The views name what they count, from the catalog as it is when they are
-- read (NULL where it does not know the sku or the category). The new
-- columns come last; the existing ones keep their names, types and order.
CREATE OR REPLACE VIEW top_products AS
SELECT t.rank, t.sku, t.units, t.revenue, p.name, p.brand
FROM (SELECT (row_number() OVER (ORDER BY units DESC, sku))::int AS rank, sku, units, revenue
      FROM (SELECT sku, units, revenue FROM agg_products ORDER BY units DESC, sku LIMIT 10) x) t
LEFT JOIN products p ON p.sku = t.sku
ORDER BY t.rank;

CREATE OR REPLACE VIEW popular_categories AS
SELECT a.category, a.events, a.units, a.revenue, c.display_name
FROM agg_categories a LEFT JOIN categories c ON c.name = a.category
ORDER BY a.units DESC, a.category;
