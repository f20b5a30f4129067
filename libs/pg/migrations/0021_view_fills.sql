-- Declared views filled from the records folded before them (issue 80,
-- docs/views.md "Adding, changing or removing a view"). A view's table
-- made after its kind's aggregator has folded records would hold only what
-- comes after it; the aggregator fills it from the topic's records before
-- that point, in the background, beside the views it keeps.

-- Every declared view's table, with the shape it was made for (its
-- columns and window): a declaration of another shape rebuilds it, one that
-- no longer declares it drops it.
CREATE TABLE aggregator_views (
  view_name  text        PRIMARY KEY,
  kind       text        NOT NULL,
  shape      text        NOT NULL,
  -- unfilled: made, waiting for its kind's aggregator to claim it;
  -- filling: claimed, aggregator_view_fills holds its ranges;
  -- filled: every record before the claim is folded (or none was).
  state      text        NOT NULL CHECK (state IN ('unfilled', 'filling', 'filled')),
  made_at    timestamptz NOT NULL DEFAULT now(),
  claimed_at timestamptz,
  filled_at  timestamptz
);

-- Per view and partition of its kind's topic: the records before
-- until_offset (the aggregator group's stored offset when it claimed the
-- view) are the fill's; those from it on, the aggregator's own. done_offset
-- moves on in the transaction that adds a chunk's folds to the view.
-- missing counts the offsets before the partition's log start when the
-- fill read it (past Kafka's retention): records the view lacks.
CREATE TABLE aggregator_view_fills (
  view_name    text    NOT NULL REFERENCES aggregator_views ON DELETE CASCADE,
  topic        text    NOT NULL,
  partition    integer NOT NULL,
  until_offset bigint  NOT NULL,
  done_offset  bigint  NOT NULL DEFAULT 0,
  missing      bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (view_name, partition)
);
