-- What millrace-aggregator --kind keeps for every declared kind (orders,
-- and kinds an operator declares): the identities folded, so a resend
-- counts once, and the records too late (or too far in the future) for the
-- aggregates, kept aside and never silently lost. A kind's own tables and
-- views are made from its declaration (pg/kind_tables.hpp), not here.

-- Kept for the lateness horizon, as aggregator_seen_ids is for store
-- events: an older resend is late anyway, and never folded.
CREATE TABLE aggregator_seen_records (
  kind     text        NOT NULL,
  identity text        NOT NULL,
  event_ts timestamptz NOT NULL,
  PRIMARY KEY (kind, identity)
);
CREATE INDEX aggregator_seen_records_ts_idx ON aggregator_seen_records (kind, event_ts);

CREATE TABLE late_records (
  kind             text        NOT NULL,
  identity         text        NOT NULL,
  verdict          text        NOT NULL CHECK (verdict IN ('late', 'future')),
  event_ts         timestamptz NOT NULL,
  partition_max_ts timestamptz,
  kafka_topic      text        NOT NULL,
  kafka_partition  integer     NOT NULL,
  kafka_offset     bigint      NOT NULL,
  payload          text        NOT NULL,
  received_at      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (kind, identity)
);
