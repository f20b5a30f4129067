-- The changes of the Debezium differential test (debezium_tables.sql), each
-- statement its own transaction unless grouped. Every value is one
-- PostgreSQL writes back as text that both sides must read the same way.
INSERT INTO types (id, c_small, c_big, c_real, c_double, c_num, c_numvar, c_money, c_text,
  c_varchar, c_char, c_bool, c_date, c_time, c_time3, c_time0, c_timetz, c_ts, c_ts3, c_tstz,
  c_tstz0, c_tstz3, c_interval, c_uuid, c_json, c_jsonb, c_bytea, c_int_arr, c_text_arr,
  c_num_arr, c_inet, c_bit, c_bit1, c_varbit, c_oid, c_xml, c_mood, c_toast, c_toast_bytes,
  c_toast_json, c_required, c_required_text)
VALUES (1, -5, 9007199254740993, 1.5, 3.25, 12.340, 1.2345678901234567890, 12.5,
  E'h\u00e9llo "q"\\n\ttab', 'vc', 'ab', true, '2024-06-01', '06:34:00.123456', '06:34:00.123',
  '06:34:01', '06:34:00.5+02', '2024-06-01 06:34:00.000001', '2024-06-01 06:34:00.123',
  '2024-06-01 06:34:00.000001+00', '2024-06-01 06:34:00+00', '2024-06-01 06:34:00.1+05:30',
  '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '{"a": [1, 2], "u": "\u00fc"}', '{"b": {"c": null}}', '\x00ff10', '{1,NULL,3}',
  '{"x","y z","q\"uote",NULL}', '{1.5,NULL,-2.25}', '10.0.0.1/8', B'101', B'1',
  B'1010101010101', 42, '<a>1</a>', 'ok',
  (SELECT string_agg(md5(g::text), '') FROM generate_series(1, 300) g),
  (SELECT decode(string_agg(md5(g::text), ''), 'hex') FROM generate_series(1, 300) g),
  (SELECT jsonb_agg(md5(g::text)) FROM generate_series(1, 300) g), 1, 'req');
INSERT INTO types (id, c_required, c_required_text) VALUES (2, 0, '');
INSERT INTO types (id, c_num, c_numvar, c_real, c_double, c_date, c_ts, c_ts3, c_tstz, c_interval,
  c_money, c_bytea, c_int_arr, c_time, c_required, c_required_text)
VALUES (3, -0.001, -12345.678900, 'NaN', '-Infinity', '1969-12-31', '1900-01-01 00:00:00',
  '1969-12-31 23:59:59.999', '1999-12-31 23:59:59.5-08', '-1 days +02:00:00', -1.25, '\x', '{}',
  '24:00:00', -3, 'x');
INSERT INTO types (id, c_numvar, c_num, c_date, c_ts, c_tstz, c_interval, c_required,
  c_required_text)
VALUES (4, 100, 0, '0044-03-15 BC', '2262-04-11 23:47:16.854775', '1970-01-01 00:00:00+00',
  '00:00:00', 4, 'y');
UPDATE types SET c_text = 'changed', c_qty = 8 WHERE id = 1;
UPDATE types SET id = 10 WHERE id = 2;
DELETE FROM types WHERE id = 3;
BEGIN;
INSERT INTO pairs VALUES (1, 'a', 'one'), (2, 'b', 'two');
UPDATE pairs SET v = 'uno' WHERE k1 = 1;
UPDATE pairs SET k2 = 'c' WHERE k1 = 2;
DELETE FROM pairs WHERE k1 = 1;
COMMIT;
INSERT INTO loose VALUES (1, 'x'), (NULL, NULL);
UPDATE loose SET b = 'y' WHERE a = 1;
DELETE FROM loose WHERE a IS NULL;
ALTER TABLE types REPLICA IDENTITY FULL;
UPDATE types SET c_note = NULL WHERE id = 1;
UPDATE types SET id = 11 WHERE id = 1;
DELETE FROM types WHERE id = 4;
ALTER TABLE types REPLICA IDENTITY DEFAULT;
INSERT INTO types (id, c_required, c_required_text) VALUES (5, 5, 'z');
INSERT INTO types (id, c_date, c_ts, c_ts3, c_tstz, c_required, c_required_text)
VALUES (6, 'infinity', 'infinity', '-infinity', '-infinity', 6, 'inf'),
  (7, '-infinity', '-infinity', 'infinity', 'infinity', 7, '-inf');
TRUNCATE loose;
INSERT INTO loose VALUES (9, 'after truncate');
