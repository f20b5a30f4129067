-- The tables the Debezium differential test streams through both Debezium's
-- PostgreSQL connector and millrace-changefeed --format debezium: a column
-- of each type docs/debezium.md lists, defaults and NOT NULL columns
-- (Debezium's schemas carry both), an enum, a composite key, and a table
-- without a primary key under REPLICA IDENTITY FULL. Run in the test's
-- own schema (search_path).
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE TABLE types (
  id int PRIMARY KEY,
  c_small smallint, c_big bigint, c_real real, c_double double precision,
  c_num numeric(10, 3), c_numvar numeric, c_money money,
  c_text text, c_varchar varchar(20), c_char char(3), c_bool boolean,
  c_date date, c_time time, c_time3 time(3), c_time0 time(0), c_timetz timetz,
  c_ts timestamp, c_ts3 timestamp(3), c_tstz timestamptz, c_tstz0 timestamptz(0),
  c_tstz3 timestamptz(3), c_interval interval, c_uuid uuid, c_json json, c_jsonb jsonb,
  c_bytea bytea, c_int_arr int[], c_text_arr text[], c_num_arr numeric(6, 2)[],
  c_inet inet, c_bit bit(3), c_bit1 bit(1), c_varbit varbit, c_oid oid, c_xml xml,
  c_mood mood, c_toast text, c_toast_bytes bytea, c_toast_json jsonb,
  c_required int NOT NULL, c_required_text text NOT NULL,
  c_qty int NOT NULL DEFAULT 7, c_note text DEFAULT 'n/a', c_price numeric(8, 2) DEFAULT 1.50,
  c_flag boolean NOT NULL DEFAULT true, c_neg int DEFAULT -1
);
CREATE TABLE pairs (k1 int, k2 text, v text, PRIMARY KEY (k1, k2));
CREATE TABLE loose (a int, b text);
ALTER TABLE loose REPLICA IDENTITY FULL;
