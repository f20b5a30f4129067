-- The webhook queue as millrace-api's live dashboard shows it: counts only,
-- so the API's reader role may see the backlog without the deliveries'
-- bodies (a view reads its tables with its owner's rights).
CREATE VIEW webhook_backlog AS
SELECT (SELECT count(*) FROM webhook_deliveries WHERE status = 'pending') AS pending,
       (SELECT count(*) FROM webhook_deliveries WHERE status = 'failed') AS failed,
       (SELECT extract(epoch FROM now() - min(enqueued_at))::numeric(20, 3)
          FROM webhook_deliveries WHERE status = 'pending') AS oldest_pending_s;
