-- Records PostgreSQL refuses and offsets retention took: both are outcomes
-- now, never a stopped pipeline or a silent jump.

-- 'lost': offsets a consumer never read because retention deleted them
-- first (MILLRACE_ON_OFFSET_GAP=skip). Counted apart from `consumed`.
ALTER TABLE record_outcomes DROP CONSTRAINT record_outcomes_outcome_check;
ALTER TABLE record_outcomes ADD CONSTRAINT record_outcomes_outcome_check
  CHECK (outcome IN ('persisted', 'filtered', 'rejected', 'late', 'duplicate', 'lost'));

-- Each skipped range, so an operator knows exactly what is missing:
-- offsets from_offset .. to_offset - 1 of the partition.
CREATE TABLE offset_gaps (
  group_id    text        NOT NULL,
  topic       text        NOT NULL,
  partition   integer     NOT NULL,
  from_offset bigint      NOT NULL,
  to_offset   bigint      NOT NULL CHECK (to_offset > from_offset),
  reason      text        NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition, from_offset)
);

-- Records the aggregator's rows could not take (a CHECK an operator added,
-- a value out of a column's range), with PostgreSQL's reason. The sink
-- dead-letters its refused records to Kafka instead; this table keeps the
-- aggregator's, written in the transaction that commits their offsets.
CREATE TABLE refused_records (
  group_id     text        NOT NULL,
  topic        text        NOT NULL,
  partition    integer     NOT NULL,
  kafka_offset bigint      NOT NULL,
  sqlstate     text        NOT NULL,
  db_message   text        NOT NULL,
  payload      text        NOT NULL,
  refused_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_id, topic, partition, kafka_offset)
);

-- `lost` joins the accounting; `unaccounted` stays consumed minus what
-- became of the records read, so it must still be 0.
CREATE OR REPLACE VIEW partition_accounting AS
SELECT o.group_id, o.topic, o.partition, o.next_offset, o.records_consumed AS consumed,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'persisted'), 0)::bigint AS persisted,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'filtered'), 0)::bigint  AS filtered,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'rejected'), 0)::bigint  AS rejected,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'late'), 0)::bigint      AS late,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'duplicate'), 0)::bigint AS duplicate,
       o.records_consumed
         - coalesce(sum(r.records) FILTER (WHERE r.outcome <> 'lost'), 0)::bigint AS unaccounted,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'lost'), 0)::bigint      AS lost
FROM consumer_offsets o
LEFT JOIN record_outcomes r USING (group_id, topic, partition)
GROUP BY o.group_id, o.topic, o.partition, o.next_offset, o.records_consumed;
