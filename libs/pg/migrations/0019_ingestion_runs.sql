-- Ingestion runs (millrace-websocket, seed 002's scheduled runs): a source
-- that reads a feed which does not replay records each run, keeps its
-- counts current while it runs, and records each disconnection as a gap,
-- so that what was missed is visible, never silent. docs/trades.md.

-- One row per run. Frames: every frame received is produced (its records
-- acknowledged by Kafka), refused (to the dead-letter topic, with a
-- reason), control (pings, acknowledgements) or lost (Kafka did not take it
-- within the produce timeout). `records` counts the records produced.
CREATE TABLE ingestion_runs (
  run_id        text        PRIMARY KEY,
  source        text        NOT NULL,  -- the source's name (--source-name)
  feed          text        NOT NULL,  -- the feed file's name
  url           text        NOT NULL,  -- without its query, which may hold a token
  topic         text        NOT NULL,
  started_at    timestamptz NOT NULL,
  ended_at      timestamptz,           -- null while it runs
  end_reason    text CHECK (end_reason IN ('finished', 'stopped', 'interrupted', 'failed')),
  received      bigint      NOT NULL DEFAULT 0,
  produced      bigint      NOT NULL DEFAULT 0,
  refused       bigint      NOT NULL DEFAULT 0,
  control       bigint      NOT NULL DEFAULT 0,
  lost          bigint      NOT NULL DEFAULT 0,
  records       bigint      NOT NULL DEFAULT 0,
  reconnections integer     NOT NULL DEFAULT 0,
  updated_at    timestamptz NOT NULL
);
CREATE INDEX ingestion_runs_source ON ingestion_runs (source, started_at);

-- Each time a run was not connected: from the loss (or the run's start,
-- before the first connect) to the next subscribe; ended_at null while it
-- lasts. The reason is the loss's (the server's close code and reason, a
-- reset, a stall) or why connecting failed.
CREATE TABLE ingestion_gaps (
  run_id     text        NOT NULL REFERENCES ingestion_runs ON DELETE CASCADE,
  gap_no     integer     NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at   timestamptz,
  reason     text        NOT NULL,
  PRIMARY KEY (run_id, gap_no)
);

-- The runs with their accounting (unaccounted is 0 once a run has ended),
-- their gaps, and their records against the source's previous run: the
-- ingestion-delta alert's figures.
CREATE VIEW ingestion_run_accounting AS
SELECT r.run_id, r.source, r.feed, r.started_at, r.ended_at, r.end_reason,
       r.received, r.produced, r.refused, r.control, r.lost, r.records, r.reconnections,
       r.received - r.produced - r.refused - r.control - r.lost AS unaccounted,
       (SELECT count(*) FROM ingestion_gaps g WHERE g.run_id = r.run_id) AS gaps,
       (SELECT coalesce(sum(extract(epoch FROM coalesce(g.ended_at, r.updated_at) - g.started_at)), 0)
          FROM ingestion_gaps g WHERE g.run_id = r.run_id)::numeric(20, 3) AS gap_seconds,
       lag(r.records) OVER (PARTITION BY r.source ORDER BY r.started_at) AS previous_records,
       r.records - lag(r.records) OVER (PARTITION BY r.source ORDER BY r.started_at) AS records_delta
FROM ingestion_runs r;
