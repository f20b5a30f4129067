-- An event is its id and its time (docs/operations.md, "Duplicates"): the
-- store's key is (ts, id) since 0011, so an event arriving with an id
-- already stored but another ts is a second event, kept beside the first.
-- The aggregator now counts it too, so that the views agree with the store,
-- and its accounting says which it was: a resend (same id, same ts) is a
-- duplicate, a new event under a reused id is counted with the reason
-- `id_reused`.
--
-- aggregator_seen_ids keeps one row per id (its key stays (topic, id), so
-- its COPY of new ids still fails on any id seen before), now with the
-- event's exact time. Rows from before this migration have none: an id
-- among them is taken to be a resend whatever its time, as before. The
-- rare events that reuse an id beyond the first are kept in a table of
-- their own, keyed by their time too, so a resend of one of them is a
-- duplicate as well.
ALTER TABLE aggregator_seen_ids ADD COLUMN event_ts timestamptz;

CREATE TABLE aggregator_reused_ids (
  topic    text        NOT NULL,
  id       uuid        NOT NULL,
  event_ts timestamptz NOT NULL,
  PRIMARY KEY (topic, id, event_ts)
);
-- Pruned with aggregator_seen_ids, by event time.
CREATE INDEX aggregator_reused_ids_event_ts_idx ON aggregator_reused_ids (topic, event_ts);

-- Every role that may write the seen ids may write these.
DO $do$
DECLARE
  g record;
BEGIN
  FOR g IN SELECT grantee, privilege_type FROM information_schema.table_privileges
           WHERE table_schema = current_schema() AND table_name = 'aggregator_seen_ids'
             AND grantee <> (SELECT tableowner FROM pg_tables WHERE schemaname = current_schema()
                             AND tablename = 'aggregator_seen_ids') LOOP
    EXECUTE format('GRANT %s ON aggregator_reused_ids TO %s', g.privilege_type,
                   CASE WHEN g.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(g.grantee) END);
  END LOOP;
END
$do$;
