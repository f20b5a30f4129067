-- store_events partitioned by event time (docs/operations.md, "The store
-- over time"). Each partition holds one span of `ts` (a day unless
-- store_layout says otherwise), so an insert touches only the indexes of
-- recent partitions, and retention drops whole partitions instead of
-- deleting rows. The primary key becomes (ts, id): a resent event carries
-- the same id and the same ts, so it meets its first copy in one
-- partition's index however late it comes, and the index grows in time
-- order instead of at random uuid pages.
--
-- Partitions are made ahead of need by the sinks, through
-- millrace_store_ensure(), which runs as the schema's owner so that the
-- sinks' role needs no DDL privilege; millrace_store_expire() drops those
-- past the retention, never one whose events an archiver has not archived.
-- An existing store_events is converted here: its rows are copied into the
-- partitioned table in this migration's transaction.

-- 'expired': a record older than the store's retention, counted and not
-- stored.
ALTER TABLE record_outcomes DROP CONSTRAINT record_outcomes_outcome_check;
ALTER TABLE record_outcomes ADD CONSTRAINT record_outcomes_outcome_check
  CHECK (outcome IN ('persisted', 'filtered', 'rejected', 'late', 'duplicate', 'lost', 'expired'));

CREATE OR REPLACE VIEW partition_accounting AS
SELECT o.group_id, o.topic, o.partition, o.next_offset, o.records_consumed AS consumed,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'persisted'), 0)::bigint AS persisted,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'filtered'), 0)::bigint  AS filtered,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'rejected'), 0)::bigint  AS rejected,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'late'), 0)::bigint      AS late,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'duplicate'), 0)::bigint AS duplicate,
       o.records_consumed
         - coalesce(sum(r.records) FILTER (WHERE r.outcome <> 'lost'), 0)::bigint AS unaccounted,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'lost'), 0)::bigint      AS lost,
       coalesce(sum(r.records) FILTER (WHERE r.outcome = 'expired'), 0)::bigint   AS expired
FROM consumer_offsets o
LEFT JOIN record_outcomes r USING (group_id, topic, partition)
GROUP BY o.group_id, o.topic, o.partition, o.next_offset, o.records_consumed;

-- How wide new partitions are. A change applies to partitions made after
-- it; existing ones keep their bounds, and new ones are clipped to fit
-- between them.
CREATE TABLE store_layout (
  one             boolean PRIMARY KEY DEFAULT true CHECK (one),
  partition_hours integer NOT NULL DEFAULT 24
                  CHECK (partition_hours BETWEEN 1 AND 24 * 31
                         AND (24 % partition_hours = 0 OR partition_hours % 24 = 0))
);
INSERT INTO store_layout DEFAULT VALUES;

-- The partitions millrace_store_ensure() made, with their bounds.
CREATE TABLE store_partitions (
  name       text        PRIMARY KEY,
  from_ts    timestamptz NOT NULL UNIQUE,
  to_ts      timestamptz NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK (to_ts > from_ts)
);

ALTER TABLE store_events RENAME TO store_events_unpartitioned;
ALTER INDEX store_events_pkey RENAME TO store_events_unpartitioned_pkey;
ALTER INDEX store_events_ts_idx RENAME TO store_events_unpartitioned_ts_idx;
ALTER INDEX store_events_source_idx RENAME TO store_events_unpartitioned_source_idx;

CREATE TABLE store_events (LIKE store_events_unpartitioned INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
  PARTITION BY RANGE (ts);
ALTER TABLE store_events ADD PRIMARY KEY (ts, id);
CREATE INDEX store_events_source_idx ON store_events (kafka_topic, kafka_partition, kafka_offset);

-- Makes the partitions that cover [p_from, p_to], each aligned to the
-- layout's width in UTC and clipped to the partitions already there.
-- Returns how many it made. Idempotent, and serialised between sessions.
CREATE FUNCTION millrace_store_ensure(p_from timestamptz, p_to timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
  width_s bigint;
  t timestamptz;
  e timestamptz;
  covered_to timestamptz;
  next_from timestamptz;
  part text;
  made integer := 0;
BEGIN
  IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
    RAISE EXCEPTION 'millrace_store_ensure: a range from % to % is empty', p_from, p_to;
  END IF;
  IF p_to - p_from > interval '3660 days' THEN
    RAISE EXCEPTION 'millrace_store_ensure: % to % spans more than ten years', p_from, p_to;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.store_events partitions'));
  SELECT partition_hours::bigint * 3600 INTO width_s FROM store_layout;
  t := to_timestamp(floor(extract(epoch FROM p_from) / width_s) * width_s);
  WHILE t <= p_to LOOP
    SELECT p.to_ts INTO covered_to FROM store_partitions p WHERE p.from_ts <= t AND p.to_ts > t;
    IF FOUND THEN
      t := covered_to;
      CONTINUE;
    END IF;
    e := to_timestamp(floor(extract(epoch FROM t) / width_s) * width_s) + make_interval(secs => width_s);
    SELECT min(p.from_ts) INTO next_from FROM store_partitions p WHERE p.from_ts > t;
    e := least(e, next_from);
    part := 'store_events_p' || to_char(t AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MI');
    EXECUTE format('CREATE TABLE %I (LIKE store_events INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part);
    -- ATTACH, unlike CREATE TABLE ... PARTITION OF, does not block the
    -- inserts going on into the other partitions.
    EXECUTE format('ALTER TABLE store_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   part, t, e);
    INSERT INTO store_partitions (name, from_ts, to_ts) VALUES (part, t, e);
    made := made + 1;
    t := e;
  END LOOP;
  RETURN made;
END
$fn$;

-- Drops the partitions that end at or before now() - keep_days, except one
-- holding an event that an archiver group reading its topic has not yet
-- archived (its stored offset is not past the event's): the archive is the
-- long-term record. Returns one row per partition past the retention, and
-- whether it was dropped or which group holds it.
CREATE FUNCTION millrace_store_expire(keep_days integer)
RETURNS TABLE (partition_name text, from_ts timestamptz, to_ts timestamptz, rows_estimate bigint,
               dropped boolean, held_by text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  p record;
  a record;
  unarchived boolean;
BEGIN
  IF keep_days IS NULL OR keep_days < 1 THEN
    RAISE EXCEPTION 'millrace_store_expire: keep at least one day, not %', keep_days;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.store_events partitions'));
  FOR p IN SELECT s.name, s.from_ts, s.to_ts FROM store_partitions s
           WHERE s.to_ts <= now() - make_interval(days => keep_days) ORDER BY s.from_ts LOOP
    partition_name := p.name;
    from_ts := p.from_ts;
    to_ts := p.to_ts;
    held_by := NULL;
    SELECT greatest(c.reltuples, 0)::bigint INTO rows_estimate FROM pg_class c
      WHERE c.oid = to_regclass(quote_ident(p.name));
    FOR a IN SELECT o.group_id, o.topic, o.partition, coalesce(o.next_offset, 0) AS next_offset
             FROM consumer_offsets o JOIN consumer_groups g USING (group_id)
             WHERE g.kind = 'archiver' LOOP
      EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE kafka_topic = $1 '
                     'AND kafka_partition = $2 AND kafka_offset >= $3)', p.name)
        INTO unarchived USING a.topic, a.partition, a.next_offset;
      IF unarchived THEN
        held_by := a.group_id;
        EXIT;
      END IF;
    END LOOP;
    dropped := held_by IS NULL;
    IF dropped THEN
      EXECUTE format('DROP TABLE %I', p.name);
      DELETE FROM store_partitions s WHERE s.name = p.name;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;

-- The store's retention applies to the records kept about events beside
-- it: late events the aggregator set aside (by their event time), records
-- PostgreSQL refused and offset ranges lost (by when they were recorded).
-- Returns how many rows of each went.
CREATE FUNCTION millrace_store_prune(keep_days integer)
RETURNS TABLE (table_name text, rows_deleted bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
  cutoff timestamptz;
BEGIN
  IF keep_days IS NULL OR keep_days < 1 THEN
    RAISE EXCEPTION 'millrace_store_prune: keep at least one day, not %', keep_days;
  END IF;
  cutoff := now() - make_interval(days => keep_days);
  table_name := 'late_events';
  DELETE FROM late_events WHERE ts < cutoff;
  GET DIAGNOSTICS rows_deleted = ROW_COUNT;
  RETURN NEXT;
  table_name := 'refused_records';
  DELETE FROM refused_records WHERE refused_at < cutoff;
  GET DIAGNOSTICS rows_deleted = ROW_COUNT;
  RETURN NEXT;
  table_name := 'offset_gaps';
  DELETE FROM offset_gaps WHERE recorded_at < cutoff;
  GET DIAGNOSTICS rows_deleted = ROW_COUNT;
  RETURN NEXT;
END
$fn$;
CREATE INDEX late_events_ts_idx ON late_events (ts);
CREATE INDEX refused_records_refused_at_idx ON refused_records (refused_at);

-- Only the roles granted them (the sinks: millrace grant --sink) may call
-- these; PostgreSQL lets every role execute a new function otherwise.
REVOKE ALL ON FUNCTION millrace_store_ensure(timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION millrace_store_expire(integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION millrace_store_prune(integer) FROM PUBLIC;

-- The existing rows, with partitions for their span and for the days
-- around now; then the old table's grants and publications move over.
DO $do$
DECLARE
  lo timestamptz;
  hi timestamptz;
  total bigint;
  copied bigint := 0;
  n bigint;
  d record;
  g record;
  old_oid oid := 'store_events_unpartitioned'::regclass;
BEGIN
  SELECT min(ts), max(ts), count(*) INTO lo, hi, total FROM store_events_unpartitioned;
  PERFORM millrace_store_ensure(now() - interval '1 day', now() + interval '2 days');
  IF total > 0 THEN
    RAISE NOTICE 'store_events: moving % rows from % to % into partitions by day', total, lo, hi;
    PERFORM millrace_store_ensure(lo, hi);
    -- A partition at a time, each read through the old ts index, with a
    -- line of progress for each.
    FOR d IN SELECT p.name, p.from_ts, p.to_ts FROM store_partitions p
             WHERE p.to_ts > lo AND p.from_ts <= hi ORDER BY p.from_ts LOOP
      INSERT INTO store_events SELECT * FROM store_events_unpartitioned
        WHERE ts >= d.from_ts AND ts < d.to_ts;
      GET DIAGNOSTICS n = ROW_COUNT;
      copied := copied + n;
      RAISE NOTICE 'store_events: % of % rows moved (% holds %)', copied, total, d.name, n;
    END LOOP;
    IF copied <> total THEN
      RAISE EXCEPTION 'store_events: moved % rows of %; nothing was changed', copied, total;
    END IF;
  END IF;
  FOR g IN SELECT grantee, privilege_type FROM information_schema.table_privileges
           WHERE table_schema = current_schema() AND table_name = 'store_events_unpartitioned'
             AND grantee <> (SELECT tableowner FROM pg_tables WHERE schemaname = current_schema()
                             AND tablename = 'store_events_unpartitioned') LOOP
    EXECUTE format('GRANT %s ON store_events TO %s', g.privilege_type,
                   CASE WHEN g.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(g.grantee) END);
  END LOOP;
  FOR g IN SELECT p.pubname FROM pg_publication_rel r JOIN pg_publication p ON p.oid = r.prpubid
           WHERE r.prrelid = old_oid LOOP
    EXECUTE format('ALTER PUBLICATION %I DROP TABLE store_events_unpartitioned', g.pubname);
    EXECUTE format('ALTER PUBLICATION %I ADD TABLE store_events', g.pubname);
    EXECUTE format('ALTER PUBLICATION %I SET (publish_via_partition_root = true)', g.pubname);
  END LOOP;
END
$do$;

DROP TABLE store_events_unpartitioned;
