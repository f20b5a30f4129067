-- Two configuration traps closed in the schema.

-- Which kind of service owns each consumer group. A sink and an aggregator
-- given the same group would split the records between them in silence
-- (each would see only part of the topic); the second kind to start with a
-- group registered by the other refuses to start instead.
CREATE TABLE consumer_groups (
  group_id      text        PRIMARY KEY,
  kind          text        NOT NULL CHECK (kind IN ('sink', 'aggregator')),
  registered_at timestamptz NOT NULL DEFAULT now()
);

-- The aggregator's dedup state per topic: pruning follows one topic's event
-- time, so with two topics in one schema it deleted the other topic's ids
-- early. Existing ids cannot be told apart by topic; each is kept for every
-- topic the schema aggregates, so no duplicate is ever counted twice, and
-- each topic's pruning then drops its copies in time.
ALTER TABLE aggregator_seen_ids RENAME TO aggregator_seen_ids_untopiced;
CREATE TABLE aggregator_seen_ids (
  topic text        NOT NULL,
  id    uuid        NOT NULL,
  ts    timestamptz NOT NULL,
  PRIMARY KEY (topic, id)
);
INSERT INTO aggregator_seen_ids (topic, id, ts)
SELECT t.topic, s.id, s.ts
FROM aggregator_seen_ids_untopiced s
CROSS JOIN (SELECT DISTINCT topic FROM aggregator_partitions) t;
DROP TABLE aggregator_seen_ids_untopiced;
CREATE INDEX aggregator_seen_ids_ts_idx ON aggregator_seen_ids (topic, ts);
