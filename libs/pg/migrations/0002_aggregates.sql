-- Incrementally maintained aggregates of millrace-aggregator. Each batch adds
-- its deltas in the same transaction as the group's offsets, so a replay never
-- counts twice. One aggregator group per schema writes these tables.

-- Ids already folded, so a duplicate event counts once. Kept for the
-- lateness horizon: an older duplicate is late anyway and never folded.
CREATE TABLE aggregator_seen_ids (
  id uuid        PRIMARY KEY,
  ts timestamptz NOT NULL
);
CREATE INDEX aggregator_seen_ids_ts_idx ON aggregator_seen_ids (ts);

-- Newest event time folded per partition: lateness is measured against it,
-- not against the wall clock, so replaying old data works.
CREATE TABLE aggregator_partitions (
  topic        text        NOT NULL,
  partition    integer     NOT NULL,
  max_event_ts timestamptz NOT NULL,
  PRIMARY KEY (topic, partition)
);

-- Events too late (or too far in the future) for the aggregates: kept here,
-- never silently lost.
CREATE TABLE late_events (
  id              uuid        PRIMARY KEY,
  verdict         text        NOT NULL CHECK (verdict IN ('late', 'future')),
  event_type      text        NOT NULL,
  ts              timestamptz NOT NULL,
  store_id        integer     NOT NULL,
  category        text        NOT NULL,
  sku             bigint      NOT NULL,
  price           numeric     NOT NULL,
  qty             integer     NOT NULL,
  discount        numeric     NOT NULL,
  is_return       boolean     NOT NULL,
  partition_max_ts timestamptz,
  kafka_topic     text        NOT NULL,
  kafka_partition integer     NOT NULL,
  kafka_offset    bigint      NOT NULL,
  received_at     timestamptz NOT NULL DEFAULT now()
);

-- Finer grain than the views (per category), so that category breakdowns
-- come cheap and the views only sum a few rows per window.
CREATE TABLE agg_hourly (
  window_start   timestamptz NOT NULL,
  event_type     text        NOT NULL,
  category       text        NOT NULL,
  events         bigint      NOT NULL,
  units          bigint      NOT NULL,
  revenue        numeric     NOT NULL,
  discount_total numeric     NOT NULL,
  returns        bigint      NOT NULL,
  PRIMARY KEY (window_start, event_type, category)
);
CREATE TABLE agg_daily (LIKE agg_hourly INCLUDING ALL);

CREATE TABLE agg_products (
  sku     bigint  PRIMARY KEY,
  units   bigint  NOT NULL,
  revenue numeric NOT NULL
);
CREATE INDEX agg_products_rank_idx ON agg_products (units DESC, sku);

CREATE TABLE agg_categories (
  category text    PRIMARY KEY,
  events   bigint  NOT NULL,
  units    bigint  NOT NULL,
  revenue  numeric NOT NULL,
  returns  bigint  NOT NULL
);

-- The public views. Names and columns are a stable interface (docs/views.md).
CREATE VIEW hourly_sales AS
SELECT window_start, event_type, sum(events)::bigint AS events, sum(units)::bigint AS units,
       sum(revenue) AS revenue, sum(discount_total) AS discount_total, sum(returns)::bigint AS returns
FROM agg_hourly GROUP BY window_start, event_type;

CREATE VIEW daily_sales AS
SELECT window_start, event_type, sum(events)::bigint AS events, sum(units)::bigint AS units,
       sum(revenue) AS revenue, sum(discount_total) AS discount_total, sum(returns)::bigint AS returns
FROM agg_daily GROUP BY window_start, event_type;

-- Orders are sale events that are not returns; revenue is net of returns.
CREATE VIEW orders_this_hour AS
SELECT h.window_start, coalesce(sum(a.events - a.returns), 0)::bigint AS orders,
       coalesce(sum(a.revenue), 0) AS revenue
FROM (SELECT date_trunc('hour', now(), 'UTC') AS window_start) h
LEFT JOIN agg_hourly a ON a.window_start = h.window_start AND a.event_type = 'sale_event'
GROUP BY h.window_start;

CREATE VIEW today_summary AS
SELECT d.day, coalesce(sum(a.events - a.returns), 0)::bigint AS orders,
       coalesce(sum(a.revenue), 0) AS revenue, coalesce(sum(a.units), 0)::bigint AS units,
       coalesce(sum(a.returns), 0)::bigint AS returns
FROM (SELECT date_trunc('day', now(), 'UTC') AS day) d
LEFT JOIN agg_daily a ON a.window_start = d.day AND a.event_type = 'sale_event'
GROUP BY d.day;

CREATE VIEW top_products AS
SELECT (row_number() OVER (ORDER BY units DESC, sku))::int AS rank, sku, units, revenue
FROM (SELECT sku, units, revenue FROM agg_products ORDER BY units DESC, sku LIMIT 10) t
ORDER BY rank;

CREATE VIEW popular_categories AS
SELECT category, events, units, revenue FROM agg_categories ORDER BY units DESC, category;
