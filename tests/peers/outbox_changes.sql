-- The transactions of the outbox differential test (outbox_test.sh), on the
-- table `millrace outbox install` creates plus three more columns (occurred,
-- a timestamp in UTC, is the records' timestamp in the variant that sets it:
-- hours before the test starts, with sub-millisecond digits, within any
-- retention; null in two rows), each
-- statement its own transaction unless grouped. The last event is the
-- aggregate type "done", which the test waits for.
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant, trace, occurred)
VALUES ('00000000-0000-4000-8000-000000000001', 'order', '1', 'OrderCreated',
  '{"id": 1, "lines": [{"sku": "A-1", "qty": 2, "price": 19.99}], "customer": {"name": "Zoë Ünal", "city": "Zürich"}, "note": "☕ ok"}',
  7, 'tr-1', date_trunc('second', now() AT TIME ZONE 'UTC') - interval '3 hours' + interval '0.678901 s');
BEGIN;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant, trace, occurred)
VALUES ('00000000-0000-4000-8000-000000000002', 'order', '1', 'OrderPaid',
  '{"id": 1, "paid": true, "amount": 39.98}', 7, 'tr-2', date_trunc('second', now() AT TIME ZONE 'UTC') - interval '2 hours 0.000001 s'),
  ('00000000-0000-4000-8000-000000000003', 'customer', 'c-9', 'CustomerMoved',
  '{"id": "c-9", "address": {"street": "Łódź 5", "geo": {"lat": 51.75, "lon": 19.45}}}', 8, NULL, NULL);
-- Deleted in the same transaction: the row is in the WAL all the same.
DELETE FROM outbox WHERE id = '00000000-0000-4000-8000-000000000002';
COMMIT;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant, trace, occurred)
VALUES ('00000000-0000-4000-8000-000000000004', 'shipment', 's-1', 'ShipmentSent',
  '{"id": "s-1", "tags": ["fragile", "日本"], "weight": 2}', 7, 'tr-4',
  date_trunc('second', now() AT TIME ZONE 'UTC') - interval '5 hours' + interval '0.001 s');
-- Deleted in a later transaction.
DELETE FROM outbox WHERE id = '00000000-0000-4000-8000-000000000001';
-- An update of an outbox row: no event on either side.
UPDATE outbox SET type = 'ShipmentSentAgain' WHERE id = '00000000-0000-4000-8000-000000000004';
-- An empty payload: a tombstone on the side that asks for it.
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant, trace, occurred)
VALUES ('00000000-0000-4000-8000-000000000005', 'order', '2', 'OrderForgotten', NULL, 7, 'tr-5',
  date_trunc('second', now() AT TIME ZONE 'UTC') - interval '4 hours');
BEGIN;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant, trace, occurred)
SELECT ('00000000-0000-4000-8000-0000000001' || lpad(g::text, 2, '0'))::uuid, 'order',
  (g % 3)::text, 'OrderNoted', jsonb_build_object('n', g, 'text', repeat('é', g)), g, 'bulk',
  date_trunc('second', now() AT TIME ZONE 'UTC') - interval '2 hours' + g * interval '1.0005 s'
FROM generate_series(10, 40) g;
COMMIT;
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant, trace, occurred)
VALUES ('00000000-0000-4000-8000-000000000099', 'done', 'end', 'Done', '{"last": true}', 0, 'end', NULL);
