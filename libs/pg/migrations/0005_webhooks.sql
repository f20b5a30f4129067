-- Webhooks: endpoints registered by operators (millrace webhooks add) and
-- one delivery row per change matched to an endpoint, enqueued by
-- millrace-webhooks in the transaction that commits its offsets on the
-- change topic.

ALTER TABLE consumer_groups DROP CONSTRAINT consumer_groups_kind_check;
ALTER TABLE consumer_groups ADD CONSTRAINT consumer_groups_kind_check
  CHECK (kind IN ('sink', 'aggregator', 'webhooks'));

CREATE TABLE webhook_endpoints (
  id                    bigserial   PRIMARY KEY,
  url                   text        NOT NULL CHECK (url ~ '^https?://[^/?#]+'),
  description           text        NOT NULL DEFAULT '',
  -- Standard Webhooks secrets ("whsec_" + base64 of the key). Requests are
  -- signed with `secret`, and with `previous_secret` too until
  -- `previous_secret_until`, so a receiver can switch keys without a gap.
  secret                text        NOT NULL CHECK (secret LIKE 'whsec_%'),
  previous_secret       text        CHECK (previous_secret LIKE 'whsec_%'),
  previous_secret_until timestamptz,
  -- Which changes it receives: NULL means every table, or every operation.
  tables                text[],
  ops                   text[]      CHECK (ops <@ ARRAY['c', 'u', 'd', 'r', 't']),
  active                boolean     NOT NULL DEFAULT true,
  disabled_reason       text,
  disabled_at           timestamptz,
  created_at            timestamptz NOT NULL DEFAULT now(),
  -- The delivery worker that holds the endpoint's queue, until when, and
  -- its PostgreSQL session: one worker at a time keeps the queue's order. A
  -- lease is free again when it runs out, or at once when that session is
  -- gone (its worker crashed).
  lease_token           bigint,
  lease_until           timestamptz,
  lease_pid             integer
);

CREATE TABLE webhook_deliveries (
  id              bigserial   PRIMARY KEY,  -- the queue's order per endpoint
  endpoint_id     bigint      NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
  change_id       text        NOT NULL,     -- webhook-id, the same on every attempt
  body            text        NOT NULL,
  committed_at    timestamptz NOT NULL,     -- the change's commit in the source database
  enqueued_at     timestamptz NOT NULL DEFAULT now(),
  status          text        NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'delivered', 'failed')),
  attempts        integer     NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_attempt_at timestamptz,
  last_status     integer,                  -- HTTP status of the last attempt; NULL: no answer
  last_error      text,
  delivered_at    timestamptz,
  UNIQUE (endpoint_id, change_id)
);

CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (endpoint_id, id)
  WHERE status = 'pending';
CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (endpoint_id, id)
  WHERE status = 'failed';
CREATE INDEX webhook_deliveries_delivered ON webhook_deliveries (delivered_at)
  WHERE status = 'delivered';
