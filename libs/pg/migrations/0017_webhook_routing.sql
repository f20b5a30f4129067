-- Webhooks that route like Event Grid (docs/webhooks.md): per endpoint, the
-- format a delivery is sent in, an Event Grid filter over the change's
-- CloudEvents attributes and data, a rate limit, and automatic disabling
-- once its deliveries have failed for a set time.
--
--   format         standard (Standard Webhooks' body), cloudevents-structured
--                  or cloudevents-binary; applied as each delivery is sent,
--                  so a change of format applies to the queue too
--   filter         the Event Grid filter object as given (canonical JSON);
--                  matched by millrace-webhooks before a delivery is
--                  enqueued
--   rate_limit     deliveries per second at most, across every worker and
--                  replica (NULL: none); rate_next_at is when the next may
--                  go (the theoretical arrival time of a GCRA limiter),
--                  kept by the worker that holds the queue
--   disable_after  seconds of failing (failing_since: the first failed
--                  attempt since the last delivery) after which the
--                  endpoint is disabled; 0: never

ALTER TABLE webhook_endpoints
  ADD COLUMN format text NOT NULL DEFAULT 'standard'
    CHECK (format IN ('standard', 'cloudevents-structured', 'cloudevents-binary')),
  ADD COLUMN filter jsonb CHECK (jsonb_typeof(filter) = 'object'),
  ADD COLUMN rate_limit double precision CHECK (rate_limit > 0),
  ADD COLUMN rate_next_at timestamptz,
  ADD COLUMN disable_after bigint NOT NULL DEFAULT 432000 CHECK (disable_after >= 0),
  ADD COLUMN failing_since timestamptz;

-- Every operation the change feed publishes (`millrace webhooks add --ops`
-- took e and g already; the check refused them).
ALTER TABLE webhook_endpoints DROP CONSTRAINT webhook_endpoints_ops_check;
ALTER TABLE webhook_endpoints
  ADD CONSTRAINT webhook_endpoints_ops_check
  CHECK (ops <@ ARRAY['c', 'u', 'd', 'r', 't', 'e', 'g']);

-- The changes each endpoint's filters left out (tables, operations and its
-- Event Grid filter), counted in the transactions that enqueue, per
-- partition of the change topic so that the group's members never wait on
-- one another's rows.
CREATE TABLE webhook_filtered (
  endpoint_id bigint  NOT NULL REFERENCES webhook_endpoints ON DELETE CASCADE,
  partition   integer NOT NULL,
  changes     bigint  NOT NULL DEFAULT 0,
  PRIMARY KEY (endpoint_id, partition)
);

-- A new signing secret, the current one kept beside it until
-- previous_secret_until. As its owner: millrace-api's admin role may
-- manage endpoints but not read a secret (only the new one it sets), and
-- the rotation reads the current one. Returns whether the endpoint exists.
CREATE FUNCTION millrace_webhook_rotate_secret(p_endpoint bigint, p_secret text,
                                               p_overlap_s bigint) RETURNS boolean
LANGUAGE sql SECURITY DEFINER SET search_path FROM CURRENT AS $fn$
  UPDATE webhook_endpoints SET previous_secret = secret, secret = p_secret,
    previous_secret_until = now() + p_overlap_s * interval '1 second'
  WHERE id = p_endpoint RETURNING true;
$fn$;
REVOKE ALL ON FUNCTION millrace_webhook_rotate_secret(bigint, text, bigint) FROM PUBLIC;
