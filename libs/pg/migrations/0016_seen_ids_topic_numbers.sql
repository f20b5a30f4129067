-- The aggregator's dedup table keyed by a topic's number instead of its
-- name. Every counted event adds a row to aggregator_seen_ids, and its key
-- began with the topic's text: PostgreSQL compared that text in each step
-- down both of the table's indexes and copied it into every row. The
-- aggregator's own transactions spent most of their time there (docs/
-- benchmarks.md, change 20): loading 1,000,000 ids in batches of 50,000 took
-- 3.9 s keyed by the name and 3.2 s keyed by a number.
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
  topic_id integer     NOT NULL,
  id       uuid        NOT NULL,
  ts       timestamptz NOT NULL,
  event_ts timestamptz
);
INSERT INTO aggregator_seen_ids (topic_id, id, ts, event_ts)
SELECT t.topic_id, s.id, s.ts, s.event_ts
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
CREATE INDEX aggregator_seen_ids_ts_idx ON aggregator_seen_ids (topic_id, ts);
