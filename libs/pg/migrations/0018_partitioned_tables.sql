-- Every declared kind partitioned by time like store_events (issue 65;
-- docs/operations.md, "The store over time"). One registry of the tables
-- kept in partitions, one list of their partitions and one set of
-- functions for all of them: store_events, and each declared kind's record
-- table with its lines' table, which is partitioned on the record's time
-- with the same bounds so that a record and its lines go together.
--
--   partitioned_tables   a row per partitioned table: its time column, the
--                        lines' table partitioned with it, the kind it
--                        stores (NULL for store_events) and how wide its
--                        partitions are. A kind's row is written by
--                        `millrace migrate` from its declaration
--                        (storage.partition_span; pg/kind_tables.cpp).
--   store_partitions     now every table's partitions, with the table and
--                        its lines' partition.
--   store_layout         a view of store_events' width, as before: an
--                        UPDATE of it still sets the width.
--   kind_identities      each declared kind's identities stored, so that a
--                        resend is a duplicate whatever its time, although
--                        a partitioned table's unique keys must hold its
--                        time. A row goes with its record's partition.
--
-- millrace_partitions_ensure/_expire/_prune take the table and replace
-- millrace_store_ensure/_expire/_prune; the roles granted the old ones are
-- granted the new ones, and may read and write kind_identities.

CREATE TABLE partitioned_tables (
  table_name        text    PRIMARY KEY,
  time_column       text    NOT NULL,
  lines_table       text    UNIQUE,
  kind              text    UNIQUE,
  -- A divisor of a day or a whole number of days, so that partitions align
  -- to UTC midnight; at most 31 days (as 0012 set for store_events).
  partition_minutes integer NOT NULL DEFAULT 1440
                    CHECK (partition_minutes BETWEEN 1 AND 1440 * 31
                           AND (1440 % partition_minutes = 0 OR partition_minutes % 1440 = 0))
);
INSERT INTO partitioned_tables (table_name, time_column, partition_minutes)
SELECT 'store_events', 'ts', partition_minutes FROM store_layout;

ALTER TABLE store_partitions ADD COLUMN table_name text NOT NULL DEFAULT 'store_events'
  REFERENCES partitioned_tables ON UPDATE CASCADE;
ALTER TABLE store_partitions ALTER COLUMN table_name DROP DEFAULT;
ALTER TABLE store_partitions ADD COLUMN lines_name text UNIQUE;
ALTER TABLE store_partitions DROP CONSTRAINT store_partitions_from_ts_key;
ALTER TABLE store_partitions ADD CONSTRAINT store_partitions_table_from_key
  UNIQUE (table_name, from_ts);

ALTER TABLE store_layout RENAME TO store_layout_table;
CREATE VIEW store_layout AS
  SELECT true AS one, partition_minutes FROM partitioned_tables WHERE table_name = 'store_events';

CREATE TABLE kind_identities (
  kind     text        NOT NULL,
  identity text        NOT NULL,
  event_ts timestamptz NOT NULL,
  PRIMARY KEY (kind, identity)
);
CREATE INDEX kind_identities_event_ts_idx ON kind_identities (kind, event_ts);

-- late_records is pruned by each kind's retention, by event time, as
-- late_events is by the store's.
CREATE INDEX late_records_event_ts_idx ON late_records (kind, event_ts);

-- The row of `p_table` in partitioned_tables, for `caller`; refuses a table
-- that is not there.
CREATE FUNCTION millrace_partitioned_table(p_table text, caller text) RETURNS partitioned_tables
LANGUAGE plpgsql STABLE SET search_path FROM CURRENT AS $fn$
DECLARE
  tab partitioned_tables%ROWTYPE;
BEGIN
  SELECT * INTO tab FROM partitioned_tables t WHERE t.table_name = p_table;
  IF NOT FOUND THEN
    RAISE EXCEPTION '%: % is not a partitioned table (partitioned_tables)', caller, p_table;
  END IF;
  RETURN tab;
END
$fn$;

-- Makes the partitions of `p_table` that cover [p_from, p_to], each aligned
-- to the table's width in UTC and clipped to the partitions already there,
-- and its lines' table's with the same bounds. Returns how many it made.
-- Idempotent, and serialised between sessions per table.
CREATE FUNCTION millrace_partitions_ensure(p_table text, p_from timestamptz, p_to timestamptz)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
  tab partitioned_tables%ROWTYPE;
  width_s bigint;
  t timestamptz;
  e timestamptz;
  covered_to timestamptz;
  next_from timestamptz;
  suffix text;
  part text;
  lines_part text;
  made integer := 0;
BEGIN
  tab := millrace_partitioned_table(p_table, 'millrace_partitions_ensure');
  IF p_from IS NULL OR p_to IS NULL OR p_to < p_from THEN
    RAISE EXCEPTION 'millrace_partitions_ensure: a range from % to % is empty', p_from, p_to;
  END IF;
  IF p_to - p_from > interval '3660 days' THEN
    RAISE EXCEPTION 'millrace_partitions_ensure: % to % spans more than ten years', p_from, p_to;
  END IF;
  -- The lock millrace_store_ensure took for store_events.
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.' || p_table || ' partitions'));
  width_s := tab.partition_minutes::bigint * 60;
  t := to_timestamp(floor(extract(epoch FROM p_from) / width_s) * width_s);
  WHILE t <= p_to LOOP
    SELECT p.to_ts INTO covered_to FROM store_partitions p
      WHERE p.table_name = p_table AND p.from_ts <= t AND p.to_ts > t;
    IF FOUND THEN
      t := covered_to;
      CONTINUE;
    END IF;
    e := to_timestamp(floor(extract(epoch FROM t) / width_s) * width_s) + make_interval(secs => width_s);
    SELECT min(p.from_ts) INTO next_from FROM store_partitions p
      WHERE p.table_name = p_table AND p.from_ts > t;
    e := least(e, next_from);
    -- <table>_pYYYYMMDDTHHMI, within 63 bytes: a long table name is cut and
    -- told apart by a hash of it.
    suffix := '_p' || to_char(t AT TIME ZONE 'UTC', 'YYYYMMDD"T"HH24MI');
    part := CASE WHEN length(p_table) <= 48 THEN p_table
                 ELSE left(p_table, 41) || '_' || left(md5(p_table), 6) END || suffix;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                   part, p_table);
    -- ATTACH, unlike CREATE TABLE ... PARTITION OF, does not block the
    -- inserts going on into the other partitions.
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                   p_table, part, t, e);
    lines_part := NULL;
    IF tab.lines_table IS NOT NULL THEN
      lines_part := CASE WHEN length(tab.lines_table) <= 48 THEN tab.lines_table
                         ELSE left(tab.lines_table, 41) || '_' || left(md5(tab.lines_table), 6)
                    END || suffix;
      EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS)',
                     lines_part, tab.lines_table);
      EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)',
                     tab.lines_table, lines_part, t, e);
    END IF;
    INSERT INTO store_partitions (table_name, name, lines_name, from_ts, to_ts)
      VALUES (p_table, part, lines_part, t, e);
    made := made + 1;
    t := e;
  END LOOP;
  RETURN made;
END
$fn$;

-- Drops the partitions of `p_table` that end at or before now() - keep
-- (with their lines' partitions, and a kind's identities of that span),
-- except one holding a record that an archiver group has not archived yet
-- (its stored offset is not past the record's): the archive is the
-- long-term record. Returns one row per partition past the retention, and
-- whether it was dropped or which group holds it.
CREATE FUNCTION millrace_partitions_expire(p_table text, keep interval)
RETURNS TABLE (partition_name text, from_ts timestamptz, to_ts timestamptz, rows_estimate bigint,
               dropped boolean, held_by text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  tab partitioned_tables%ROWTYPE;
  p record;
  a record;
  unarchived boolean;
BEGIN
  tab := millrace_partitioned_table(p_table, 'millrace_partitions_expire');
  IF keep IS NULL OR keep < interval '1 minute' THEN
    RAISE EXCEPTION 'millrace_partitions_expire: keep at least a minute, not %', keep;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.' || p_table || ' partitions'));
  FOR p IN SELECT s.name, s.lines_name, s.from_ts, s.to_ts FROM store_partitions s
           WHERE s.table_name = p_table AND s.to_ts <= now() - keep ORDER BY s.from_ts LOOP
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
      IF p.lines_name IS NOT NULL THEN
        -- The lines first: their foreign key would refuse the record
        -- partition's drop, and its detach checks that no line is left.
        EXECUTE format('DROP TABLE %I', p.lines_name);
        EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', p_table, p.name);
      END IF;
      EXECUTE format('DROP TABLE %I', p.name);
      IF tab.kind IS NOT NULL THEN
        DELETE FROM kind_identities i
          WHERE i.kind = tab.kind AND i.event_ts >= p.from_ts AND i.event_ts < p.to_ts;
      END IF;
      DELETE FROM store_partitions s WHERE s.name = p.name;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$fn$;

-- The retention of `p_table` applies to the records kept beside it: for
-- store_events, late events the aggregator set aside (by their event time),
-- records PostgreSQL refused and offset ranges lost (by when they were
-- recorded); for a declared kind, the records its aggregator set aside in
-- late_records (by their event time). Returns how many rows of each went.
CREATE FUNCTION millrace_partitions_prune(p_table text, keep interval)
RETURNS TABLE (table_name text, rows_deleted bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  tab partitioned_tables%ROWTYPE;
  cutoff timestamptz;
BEGIN
  tab := millrace_partitioned_table(p_table, 'millrace_partitions_prune');
  IF keep IS NULL OR keep < interval '1 minute' THEN
    RAISE EXCEPTION 'millrace_partitions_prune: keep at least a minute, not %', keep;
  END IF;
  cutoff := now() - keep;
  IF tab.kind IS NOT NULL THEN
    table_name := 'late_records';
    DELETE FROM late_records r WHERE r.kind = tab.kind AND r.event_ts < cutoff;
    GET DIAGNOSTICS rows_deleted = ROW_COUNT;
    RETURN NEXT;
    RETURN;
  END IF;
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

REVOKE ALL ON FUNCTION millrace_partitioned_table(text, text) FROM PUBLIC;
REVOKE ALL ON FUNCTION millrace_partitions_ensure(text, timestamptz, timestamptz) FROM PUBLIC;
REVOKE ALL ON FUNCTION millrace_partitions_expire(text, interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION millrace_partitions_prune(text, interval) FROM PUBLIC;

DO $do$
DECLARE
  g record;
BEGIN
  -- Whoever could read the layout table may read the view.
  FOR g IN SELECT grantee, privilege_type FROM information_schema.table_privileges
           WHERE table_schema = current_schema() AND table_name = 'store_layout_table'
             AND grantee <> (SELECT tableowner FROM pg_tables WHERE schemaname = current_schema()
                             AND tablename = 'store_layout_table') LOOP
    EXECUTE format('GRANT %s ON store_layout TO %s', g.privilege_type,
                   CASE WHEN g.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(g.grantee) END);
  END LOOP;
  -- Whoever was granted the old functions (the sinks) is granted the new
  -- ones, and the identities a sink of a kind stores.
  FOR g IN SELECT DISTINCT a.grantee::regrole::text AS grantee
           FROM pg_proc p, aclexplode(p.proacl) a
           WHERE p.oid IN ('millrace_store_ensure(timestamptz, timestamptz)'::regprocedure,
                           'millrace_store_expire(interval)'::regprocedure,
                           'millrace_store_prune(interval)'::regprocedure)
             AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION millrace_partitions_ensure(text, timestamptz, '
                   'timestamptz), millrace_partitions_expire(text, interval), '
                   'millrace_partitions_prune(text, interval) TO %s', g.grantee);
    EXECUTE format('GRANT SELECT, INSERT ON kind_identities TO %s', g.grantee);
  END LOOP;
END
$do$;

DROP TABLE store_layout_table;
DROP FUNCTION millrace_store_ensure(timestamptz, timestamptz);
DROP FUNCTION millrace_store_expire(interval);
DROP FUNCTION millrace_store_prune(interval);
