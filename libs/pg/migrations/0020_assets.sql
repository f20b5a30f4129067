-- Reference data for trades (issue 78): the assets a market-data feed's
-- trades name by their symbol, as market-data REST APIs list them
-- (Finnhub's /stock/symbol and /crypto/symbol). Loaded with `millrace
-- catalog load` (a URL, on a schedule with --every), like the catalog; the
-- change feed publishes the table by default, and a sink enriching a kind
-- on its symbol ("enrich": {"asset": ...}) follows it in memory. Only the
-- key is required: crypto listings carry no type or currency.

CREATE TABLE assets (
  -- The symbol the trades carry: the stable key ("AAPL", "BINANCE:BTCUSDT").
  symbol         text        PRIMARY KEY CHECK (symbol <> '' AND length(symbol) <= 64),
  description    text        CHECK (length(description) <= 2000),
  type           text        CHECK (length(type) <= 200),
  currency       text        CHECK (length(currency) <= 32),
  display_symbol text        CHECK (length(display_symbol) <= 200),
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TRIGGER assets_touch BEFORE UPDATE ON assets
  FOR EACH ROW EXECUTE FUNCTION catalog_touch();
