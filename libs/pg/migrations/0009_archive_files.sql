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
  -- compaction) to its last record. An empty file (MILLRACE_ARCHIVE_EMPTY_FILES:
  -- a window in which the partition received nothing) has no records and
  -- covers nothing: from_offset is where reading stood, the rest is NULL.
  from_offset  bigint      NOT NULL,
  first_offset bigint      CHECK (first_offset >= from_offset),
  last_offset  bigint      CHECK (last_offset >= first_offset),
  records      bigint      NOT NULL CHECK (records >= 0),
  bytes        bigint      NOT NULL CHECK (bytes > 0),
  sha256       text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
  -- The time in the path: the start of the file's window, or, for a file
  -- that a size window or a rebalance opened mid-window, when it opened.
  file_time    timestamptz NOT NULL,
  -- The records' oldest and newest Kafka timestamps (EnqueuedTimeUtc).
  min_time     timestamptz,
  max_time     timestamptz,
  published    boolean     NOT NULL DEFAULT false,
  committed_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((records = 0) = (first_offset IS NULL) AND (first_offset IS NULL) = (last_offset IS NULL)
         AND (first_offset IS NULL) = (min_time IS NULL) AND (min_time IS NULL) = (max_time IS NULL))
);
-- Each offset is the start of one file's range, empty files aside.
CREATE UNIQUE INDEX archive_files_range ON archive_files (group_id, topic, partition, from_offset)
  WHERE records > 0;

CREATE INDEX archive_files_unpublished ON archive_files (group_id, topic, partition)
  WHERE NOT published;
CREATE INDEX archive_files_time ON archive_files (topic, min_time);
