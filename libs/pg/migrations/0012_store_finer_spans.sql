-- Partitions narrower than an hour and retentions shorter than a day
-- (docs/operations.md, "The store over time"): a store that keeps hours,
-- not days, in PostgreSQL (the archive holding the rest), and the bench's
-- soak, which must see partitions dropped within minutes.
--
-- store_layout.partition_hours becomes partition_minutes, and the
-- retention functions take an interval instead of whole days. The roles
-- that could run the old functions (the sinks') can run the new ones.

ALTER TABLE store_layout ADD COLUMN partition_minutes integer;
UPDATE store_layout SET partition_minutes = partition_hours * 60;
ALTER TABLE store_layout DROP COLUMN partition_hours;
ALTER TABLE store_layout ALTER COLUMN partition_minutes SET NOT NULL;
ALTER TABLE store_layout ALTER COLUMN partition_minutes SET DEFAULT 1440;
-- A divisor of a day or a whole number of days, so that partitions align
-- to UTC midnight; at most 31 days.
ALTER TABLE store_layout ADD CONSTRAINT store_layout_partition_minutes_check
  CHECK (partition_minutes BETWEEN 1 AND 1440 * 31
         AND (1440 % partition_minutes = 0 OR partition_minutes % 1440 = 0));

CREATE OR REPLACE FUNCTION millrace_store_ensure(p_from timestamptz, p_to timestamptz) RETURNS integer
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
  SELECT partition_minutes::bigint * 60 INTO width_s FROM store_layout;
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

-- As in 0011, with the retention an interval of at least a minute.
CREATE FUNCTION millrace_store_expire(keep interval)
RETURNS TABLE (partition_name text, from_ts timestamptz, to_ts timestamptz, rows_estimate bigint,
               dropped boolean, held_by text)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
#variable_conflict use_column
DECLARE
  p record;
  a record;
  unarchived boolean;
BEGIN
  IF keep IS NULL OR keep < interval '1 minute' THEN
    RAISE EXCEPTION 'millrace_store_expire: keep at least a minute, not %', keep;
  END IF;
  PERFORM pg_advisory_xact_lock(hashtext(current_schema() || '.store_events partitions'));
  FOR p IN SELECT s.name, s.from_ts, s.to_ts FROM store_partitions s
           WHERE s.to_ts <= now() - keep ORDER BY s.from_ts LOOP
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

CREATE FUNCTION millrace_store_prune(keep interval)
RETURNS TABLE (table_name text, rows_deleted bigint)
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
DECLARE
  cutoff timestamptz;
BEGIN
  IF keep IS NULL OR keep < interval '1 minute' THEN
    RAISE EXCEPTION 'millrace_store_prune: keep at least a minute, not %', keep;
  END IF;
  cutoff := now() - keep;
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

REVOKE ALL ON FUNCTION millrace_store_expire(interval) FROM PUBLIC;
REVOKE ALL ON FUNCTION millrace_store_prune(interval) FROM PUBLIC;

-- Whoever was granted the old functions is granted the new ones.
DO $do$
DECLARE
  g record;
BEGIN
  FOR g IN SELECT DISTINCT a.grantee::regrole::text AS grantee
           FROM pg_proc p, aclexplode(p.proacl) a
           WHERE p.oid IN ('millrace_store_expire(integer)'::regprocedure,
                           'millrace_store_prune(integer)'::regprocedure)
             AND a.privilege_type = 'EXECUTE' AND a.grantee <> 0 AND a.grantee <> p.proowner LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION millrace_store_expire(interval), '
                   'millrace_store_prune(interval) TO %s', g.grantee);
  END LOOP;
END
$do$;

DROP FUNCTION millrace_store_expire(integer);
DROP FUNCTION millrace_store_prune(integer);
