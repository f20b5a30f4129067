-- millrace-archiver's files: one row per Capture file, written in the
-- transaction that moves the group's offsets past the file's records, so
-- each record is archived exactly once (docs/archive.md).
--
-- A file is staged under {root}/.staging/{staged}, recorded here, then
-- moved to {root}/{path} (published). A row with published = false is a
-- file recorded whose move may not have happened: the partition's next
-- commit finishes it.
ALTER TABLE consumer_groups DROP CONSTRAINT consumer_groups_kind_check;
ALTER TABLE consumer_groups ADD CONSTRAINT consumer_groups_kind_check
  CHECK (kind IN ('sink', 'aggregator', 'webhooks', 'archiver'));

CREATE TABLE archive_files (
  group_id     text        NOT NULL,
  topic        text        NOT NULL,
  partition    integer     NOT NULL,
  -- {namespace}/{topic}/{partition}/{YYYY}/{MM}/{DD}/{HH}/{mm}/{ss}.avro,
  -- relative to the archive's root.
  path         text        NOT NULL PRIMARY KEY,
  staged       text        NOT NULL,
  -- The log range the file covers: from where its reading began (offsets
  -- below first_offset that hold no record: transaction markers,
  -- compaction) to its last record.
  from_offset  bigint      NOT NULL,
  first_offset bigint      NOT NULL CHECK (first_offset >= from_offset),
  last_offset  bigint      NOT NULL CHECK (last_offset >= first_offset),
  records      bigint      NOT NULL CHECK (records > 0),
  bytes        bigint      NOT NULL CHECK (bytes > 0),
  sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  -- The time in the path: the start of the file's window, or, for a file
  -- that a size window or a rebalance opened mid-window, when it opened.
  file_time    timestamptz NOT NULL,
  -- The records' oldest and newest Kafka timestamps (EnqueuedTimeUtc).
  min_time     timestamptz NOT NULL,
  max_time     timestamptz NOT NULL,
  published    boolean     NOT NULL DEFAULT false,
  committed_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (group_id, topic, partition, from_offset)
);

CREATE INDEX archive_files_unpublished ON archive_files (group_id, topic, partition)
  WHERE NOT published;
CREATE INDEX archive_files_time ON archive_files (topic, min_time);
