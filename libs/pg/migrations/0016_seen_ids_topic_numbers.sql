-- The aggregator's dedup table in numbers: its topic's number instead of
-- its name, and its times as integers. Every counted event adds a row to
-- aggregator_seen_ids, and the aggregator's own transactions spent most of
-- their time there (docs/benchmarks.md, change 20). Its key began with the
-- topic's text, which PostgreSQL compared at each step down both of the
-- table's indexes and stored in every row; and COPY parsed two timestamps
-- per row. Loading 1,000,000 ids in batches of 50,000 by COPY took 4.2 s as
-- it was, 3.2 s keyed by the topic's number, 2.7 s with the times as
-- integers too.
--
--   hour      the start of the event's hour, in hours since the Unix epoch
--             (pruning reads it; few distinct values keep its index small)
--   event_us  the event's time, in microseconds since the Unix epoch (null
--             for an id recorded before migration 13, which kept none)
--
-- Each aggregated topic gets its number once, in aggregator_topics; the
-- aggregator looks it up (adding its topic when missing) as it connects.
-- Numbers are never reused. The ids held already are moved over, which
-- rewrites the table once: on a store with days of lateness horizon, this
-- migration takes about as long as copying the table.
CREATE TABLE aggregator_topics (
  topic_id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic    text    NOT NULL UNIQUE
);
INSERT INTO aggregator_topics (topic)
SELECT topic FROM aggregator_seen_ids
UNION SELECT topic FROM aggregator_partitions
ORDER BY 1;

ALTER TABLE aggregator_seen_ids RENAME TO aggregator_seen_ids_by_name;
CREATE TABLE aggregator_seen_ids (
  topic_id integer NOT NULL,
  id       uuid    NOT NULL,
  hour     integer NOT NULL,
  event_us bigint
);
INSERT INTO aggregator_seen_ids (topic_id, id, hour, event_us)
SELECT t.topic_id, s.id, floor(extract(epoch FROM s.ts) / 3600)::integer,
       (extract(epoch FROM s.event_ts) * 1000000)::bigint
FROM aggregator_seen_ids_by_name s
JOIN aggregator_topics t USING (topic);

-- The roles that could write the seen ids may write these, and may number
-- their topics.
DO $do$
DECLARE
  g record;
  grantee text;
BEGIN
  FOR g IN SELECT p.grantee, p.privilege_type FROM information_schema.table_privileges p
           WHERE p.table_schema = current_schema() AND p.table_name = 'aggregator_seen_ids_by_name'
             AND p.grantee <> (SELECT tableowner FROM pg_tables WHERE schemaname = current_schema()
                               AND tablename = 'aggregator_seen_ids_by_name') LOOP
    grantee := CASE WHEN g.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(g.grantee) END;
    EXECUTE format('GRANT %s ON aggregator_seen_ids TO %s', g.privilege_type, grantee);
    IF g.privilege_type IN ('SELECT', 'INSERT') THEN
      EXECUTE format('GRANT %s ON aggregator_topics TO %s', g.privilege_type, grantee);
    END IF;
  END LOOP;
END
$do$;

DROP TABLE aggregator_seen_ids_by_name;
ALTER TABLE aggregator_seen_ids ADD CONSTRAINT aggregator_seen_ids_pkey PRIMARY KEY (topic_id, id);
CREATE INDEX aggregator_seen_ids_hour_idx ON aggregator_seen_ids (topic_id, hour);
