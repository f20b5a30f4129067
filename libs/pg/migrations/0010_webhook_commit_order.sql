-- Webhooks in commit order across the change topic's partitions
-- (docs/architecture.md, "Webhooks"). millrace-webhooks enqueues each
-- partition's changes as it reads them, so an endpoint's queue holds them in
-- the order they were read, which is commit order per key only. Each
-- endpoint now says which order it is sent in:
--   commit: change-id order (PostgreSQL's commit order) across all keys; a
--           delivery waits until no change committed before it can still be
--           enqueued (webhook_read_marks);
--   key:    the order the changes were read: commit order within each row's
--           key, sooner.

ALTER TABLE webhook_endpoints
  ADD COLUMN ordering text NOT NULL DEFAULT 'commit' CHECK (ordering IN ('commit', 'key'));

-- How far the webhooks group has read and enqueued each partition of the
-- change topic, written in the transactions that enqueue (and, while idle,
-- on their own). A delivery of change C may go out in commit order once
-- every partition either has a row whose last_id is at or past C (a
-- partition delivers its changes in commit order), or was read to its end
-- after C was enqueued (caught_up_at > C's enqueued_at: every change
-- committed before C was by then below the partition's end). A partition
-- without a row holds every delivery back: nobody has read it yet.
CREATE TABLE webhook_read_marks (
  group_id     text        NOT NULL,
  topic        text        NOT NULL,
  partition    integer     NOT NULL,
  last_id      text        NOT NULL DEFAULT '' COLLATE "C",
  caught_up_at timestamptz NOT NULL DEFAULT '-infinity',
  PRIMARY KEY (group_id, topic, partition)
);

-- The head of a commit-ordered queue; change ids compare as bytes.
CREATE INDEX webhook_deliveries_pending_commit
  ON webhook_deliveries (endpoint_id, change_id COLLATE "C") WHERE status = 'pending';
