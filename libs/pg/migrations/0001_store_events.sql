-- Kept store events: one row per event id, whatever Kafka replayed.
CREATE TABLE store_events (
  id                uuid        PRIMARY KEY,
  request_id        uuid        NOT NULL,
  event_type        text        NOT NULL CHECK (event_type IN ('sale_event', 'inventory_event')),
  store_id          integer     NOT NULL,
  store_fqdn        text        NOT NULL,
  store_ip          inet        NOT NULL,
  cust_id           bigint      NOT NULL,
  category          text        NOT NULL,
  sku               bigint      NOT NULL,
  price             numeric     NOT NULL,
  qty               integer     NOT NULL,
  discount          numeric     NOT NULL,
  gift_wrap         boolean     NOT NULL,
  variant           text        NOT NULL,
  priority_shipping boolean     NOT NULL,
  ts                timestamptz NOT NULL,
  contact_me        text,
  is_return         boolean     NOT NULL,
  kafka_topic       text        NOT NULL,
  kafka_partition   integer     NOT NULL,
  kafka_offset      bigint      NOT NULL,
  ingested_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX store_events_ts_idx ON store_events (ts);
CREATE INDEX store_events_source_idx ON store_events (kafka_topic, kafka_partition, kafka_offset);

-- Where each consumer group stands, per partition. This is the truth Millrace
-- resumes from; Kafka's committed offsets are only a copy for lag tooling.
-- next_offset is NULL until the first batch of a partition commits.
CREATE TABLE consumer_offsets (
  group_id         text        NOT NULL,
  topic            text        NOT NULL,
  partition        integer     NOT NULL,
  next_offset      bigint,
  records_consumed bigint      NOT NULL DEFAULT 0,
  updated_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition)
);

-- What became of every consumed record, per partition, outcome and reason.
-- Updated in the same transaction as consumer_offsets, so the two always agree.
CREATE TABLE record_outcomes (
  group_id  text    NOT NULL,
  topic     text    NOT NULL,
  partition integer NOT NULL,
  outcome   text    NOT NULL CHECK (outcome IN ('persisted', 'filtered', 'rejected', 'late', 'duplicate')),
  reason    text    NOT NULL DEFAULT '',
  records   bigint  NOT NULL,
  PRIMARY KEY (group_id, topic, partition, outcome, reason)
);

-- consumed = persisted + filtered + rejected + late + duplicate, per partition;
-- `unaccounted` must always be 0.
CREATE VIEW partition_accounting AS
SELECT o.group_id, o.topic, o.partition, o.next_offset, o.records_consumed AS consumed,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'persisted'), 0)::bigint AS persisted,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'filtered'), 0)::bigint  AS filtered,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'rejected'), 0)::bigint  AS rejected,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'late'), 0)::bigint      AS late,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'duplicate'), 0)::bigint AS duplicate,
       o.records_consumed - coalesce(sum(r.records), 0)::bigint                   AS unaccounted
FROM consumer_offsets o
LEFT JOIN record_outcomes r USING (group_id, topic, partition)
GROUP BY o.group_id, o.topic, o.partition, o.next_offset, o.records_consumed;
