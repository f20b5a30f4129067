-- One table of folded identities for every kind. A declared kind's
-- aggregator kept its identities in aggregator_seen_records (text, with a
-- timestamptz), each batch's through INSERT ... unnest ... ON CONFLICT,
-- which cost PostgreSQL most of a declared kind's aggregation
-- (docs/benchmarks.md, issue 80); the store event's go to
-- aggregator_seen_ids as 128-bit keys under a number, COPYed while none is
-- held already. Now every kind's go there:
--
--   topic_id  the number aggregator_topics gives the name 'kind:' || kind
--             (no Kafka topic name holds a ':', so no topic's ids mix with
--             a kind's); a kind's identity is a record whichever topic
--             brings it, as before
--   id        an identity in canonical lower-case uuid text is that uuid;
--             any other is the first 128 bits of its text's SHA-256, which
--             the aggregator computes the same way (why no text is kept
--             beside it: libs/aggregate/src/seen_ids.hpp)
--   hour      the start of its event's hour, in hours since the Unix epoch
--   event_us  its event time, in microseconds since the Unix epoch
--
-- The identities held already are moved over, so a resend of a record
-- folded before the upgrade still counts once, and the old table goes.
INSERT INTO aggregator_topics (topic)
SELECT DISTINCT 'kind:' || kind FROM aggregator_seen_records ORDER BY 1
ON CONFLICT (topic) DO NOTHING;

INSERT INTO aggregator_seen_ids (topic_id, id, hour, event_us)
SELECT t.topic_id,
       CASE WHEN s.identity ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            THEN s.identity::uuid
            ELSE encode(substr(sha256(convert_to(s.identity, 'UTF8')), 1, 16), 'hex')::uuid END,
       floor(extract(epoch FROM s.event_ts) / 3600)::integer,
       (extract(epoch FROM s.event_ts) * 1000000)::bigint
FROM aggregator_seen_records s
JOIN aggregator_topics t ON t.topic = 'kind:' || s.kind
ON CONFLICT (topic_id, id) DO NOTHING;

-- The roles that could write the kinds' identities may write them where
-- they now are, and may number their kinds.
DO $do$
DECLARE
  g record;
  grantee text;
BEGIN
  FOR g IN SELECT p.grantee, p.privilege_type FROM information_schema.table_privileges p
           WHERE p.table_schema = current_schema() AND p.table_name = 'aggregator_seen_records'
             AND p.grantee <> (SELECT tableowner FROM pg_tables WHERE schemaname = current_schema()
                               AND tablename = 'aggregator_seen_records') LOOP
    grantee := CASE WHEN g.grantee = 'PUBLIC' THEN 'PUBLIC' ELSE quote_ident(g.grantee) END;
    EXECUTE format('GRANT %s ON aggregator_seen_ids TO %s', g.privilege_type, grantee);
    IF g.privilege_type IN ('SELECT', 'INSERT') THEN
      EXECUTE format('GRANT %s ON aggregator_topics TO %s', g.privilege_type, grantee);
    END IF;
  END LOOP;
END
$do$;

DROP TABLE aggregator_seen_records;
