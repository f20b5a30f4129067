#!/usr/bin/env bash
# peers.jdbc-sink and peers.flink-sql: a consumer built for Debezium, not by
# us, mirrors a table from millrace-changefeed --format debezium into a
# second database, and the mirror must end equal to the table row for row.
#
#   jdbc:  Debezium's JDBC sink connector in Kafka Connect standalone
#          (tests/peers/jdbc-sink/pom.xml), JsonConverter with schemas, the
#          table under REPLICA IDENTITY DEFAULT, precise decimals;
#   flink: Flink SQL (tests/peers/flink: the Kafka connector, the
#          debezium-json format, the JDBC connector) in one local JVM, the
#          table under REPLICA IDENTITY FULL (debezium-json needs "before"
#          of an update), decimals as strings (--decimal-handling string),
#          timestamptz read as TIMESTAMP_LTZ in ISO-8601 and written through
#          a TIMESTAMP in UTC (Flink's JDBC sink has no TIMESTAMP_LTZ). The
#          source declares its key, with Flink's setting for Debezium input
#          that may repeat a row's state (table.exec.source.cdc-events-
#          duplicate, FlinkMirror.java): the initial snapshot's row of a
#          key the stream changed before its chunk was read repeats that
#          change's state (docs/backfills.md), and without the setting
#          Flink's upsert sink counts the row twice and keeps it after its
#          delete.
#
# The workload (mirror_workload.py) inserts, updates, changes keys and
# deletes in 600 transactions: the first 50 before the feed starts (its
# initial snapshot publishes their rows as op r), the next while it may
# still be reading them, the first 200 before the consumer starts. The
# feed is SIGKILLed while the next 200 commit, stays down for 100 more, and
# starts again from its checkpoint for the last 100. Then the topic must
# hold each change once (changes_once.py), whatever the peer forgives.
#
#   mirror_test.sh jdbc|flink SOURCE_DIR BUILD_DIR   (MILLRACE_STATE_DIR: the stack)
kind=$1
. "$(dirname "$0")/lib.sh" "mirror_$kind" "$2" "$3"
mirror_db=mirror_${kind}_$suffix
feed=feed_${kind}_$suffix
seed=${MILLRACE_MIRROR_SEED:-$RANDOM}
echo "mirror test: $kind, seed $seed (MILLRACE_MIRROR_SEED replays it), logs $log.*"

if [[ $kind == flink ]]; then
  columns="id int PRIMARY KEY, name text NOT NULL, qty int, price numeric(10, 2), flag boolean,
    updated timestamptz, note text"
  workload_mode=flink
else
  columns="id int PRIMARY KEY, name text NOT NULL, qty int, price numeric(10, 2), flag boolean,
    updated timestamptz, day date, at timestamp, doc jsonb, ref uuid"
  workload_mode=
fi

# The feed's role reads its database with output settings of its own, which
# the feed must not take for PostgreSQL's defaults.
psql -X -q -v ON_ERROR_STOP=1 "$superuser" \
  -c "ALTER ROLE $role IN DATABASE millrace SET DateStyle = 'SQL, DMY'" \
  -c "ALTER ROLE $role IN DATABASE millrace SET TimeZone = 'Asia/Kolkata'" >/dev/null
databases+=("$mirror_db")
psql -X -q -v ON_ERROR_STOP=1 "$superuser" -c "CREATE DATABASE $mirror_db OWNER $role" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" -c "CREATE TABLE $schema.items ($columns)" >/dev/null
if [[ $kind == flink ]]; then
  psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" -c "ALTER TABLE $schema.items REPLICA IDENTITY FULL" >/dev/null
fi
mirror_url=$(role_url "$mirror_db")
psql -X -q -v ON_ERROR_STOP=1 "$mirror_url" -c "CREATE TABLE items ($columns)" >/dev/null
"$build/bin/millrace" changefeed publish --publication "$publication" --tables items \
  --grant-select "$role" >/dev/null

# The feed: the topic of four partitions, as millrace create-topics makes it.
create_topic "$feed" 4
topics+=("$feed.$schema.items")
slots+=("$feed")
feed_args=(--pg "$(role_url millrace)" --format debezium
  --topic-per-table --topic "$feed" --slot "$feed" --publication "$publication" --metrics-addr ''
  --snapshot initial)
if [[ $kind == flink ]]; then
  feed_args+=(--decimal-handling string)
else
  feed_args+=(--schemas)
fi
start_feed() {
  "$build/bin/millrace-changefeed" "${feed_args[@]}" >>"$log.feed" 2>&1 &
  feed_pid=$!
  pids+=("$feed_pid")
}
workload() {
  python3 "$here/mirror_workload.py" "$seed" "$1" "$2" $workload_mode |
    psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" -c "SET search_path TO $schema" -f - >/dev/null
}
# The first 50 transactions commit before the feed exists: its initial
# snapshot (--snapshot initial) publishes their rows as op r.
workload 0 50
start_feed
wait_slot "$feed"

# The next part, before the consumer even starts: it must begin at the
# topic's start.
workload 50 150

topic=$feed.$schema.items
# The feed makes the table's topic with the snapshot's first record: Flink's
# source fails on a topic not there yet.
wait_topic "$topic"
if [[ $kind == flink ]]; then
  classpath=$(peer_classpath "$here/flink/pom.xml" flink)
  mkdir -p "$work/classes"
  javac -d "$work/classes" -cp "$classpath" "$here/flink/FlinkMirror.java"
  cat >"$work/mirror.sql" <<SQL
CREATE TABLE src (id INT, name STRING, qty INT, price DECIMAL(10, 2), flag BOOLEAN,
  updated TIMESTAMP_LTZ(6), note STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (
  'connector' = 'kafka', 'topic' = '$topic',
  'properties.bootstrap.servers' = '$MILLRACE_BROKERS',
  'properties.group.id' = 'flink_$suffix', 'properties.isolation.level' = 'read_committed',
  'scan.startup.mode' = 'earliest-offset',
  'format' = 'debezium-json', 'debezium-json.timestamp-format.standard' = 'ISO-8601')
;
CREATE TABLE dst (id INT, name STRING, qty INT, price DECIMAL(10, 2), flag BOOLEAN,
  updated TIMESTAMP(6), note STRING, PRIMARY KEY (id) NOT ENFORCED) WITH (
  'connector' = 'jdbc', 'url' = 'jdbc:postgresql://127.0.0.1:$pg_port/$mirror_db',
  'table-name' = 'items', 'username' = '$role', 'password' = '$password',
  'sink.buffer-flush.interval' = '200ms')
;
INSERT INTO dst SELECT id, name, qty, price, flag, CAST(updated AS TIMESTAMP(6)), note FROM src
SQL
  # Flink unpacks its RPC system (a 21 MB jar) into java.io.tmpdir and leaves
  # it there when stopped: into the test's own directory, removed on exit.
  mkdir -p "$work/tmp"
  scratch+=("$work/tmp")
  java -Xms128m -Xmx768m -XX:+UseSerialGC -Duser.timezone=UTC -Djava.io.tmpdir="$work/tmp" \
    -Dlog4j2.configurationFile="$here/flink/log4j2.properties" \
    -cp "$work/classes:$classpath" FlinkMirror "$work/mirror.sql" >"$log.flink" 2>&1 &
  peer_pid=$!
  pids+=("$peer_pid")
else
  classpath=$(peer_classpath "$here/jdbc-sink/pom.xml" jdbc-sink)
  connect_worker "$work/worker.properties" <<<"consumer.isolation.level=read_committed"
  cat >"$work/sink.properties" <<EOF2
name=jdbc_$suffix
connector.class=io.debezium.connector.jdbc.JdbcSinkConnector
tasks.max=1
topics=$topic
connection.url=jdbc:postgresql://127.0.0.1:$pg_port/$mirror_db
connection.username=$role
connection.password=$password
insert.mode=upsert
delete.enabled=true
primary.key.mode=record_key
schema.evolution=none
collection.name.format=items
EOF2
  start_connect "$classpath" "$work/worker.properties" "$work/sink.properties"
  peer_pid=${pids[-1]}
fi

# The feed is killed while the next 200 commit, and stays down for 100 more.
workload 200 200 &
writer=$!
sleep 1
kill -KILL "$feed_pid"
wait "$feed_pid" 2>/dev/null || true
echo "SIGKILLed the feed at $(psql -X -tA "$MILLRACE_PG" -c "SELECT count(*) FROM $schema.items") rows"
wait "$writer"
workload 400 100
start_feed
workload 500 100

# The mirror must come to equal the table.
dump() { psql -X -tA "$1" -c "SELECT * FROM ${2}items ORDER BY id"; }
for ((i = 0; i < 240; i++)); do
  dump "$MILLRACE_PG" "$schema." >"$work/source.txt"
  dump "$mirror_url" "" >"$work/mirror.txt" 2>"$work/mirror.err" || true
  if cmp -s "$work/source.txt" "$work/mirror.txt"; then
    echo "the mirror equals the table: $(wc -l <"$work/source.txt") rows after 600 transactions"
    dump_topic "$topic" >"$log.topic.json"
    snapshot_rows=$(grep -c '\\"op\\":\\"r\\"' "$log.topic.json" || true)
    echo "the initial snapshot published $snapshot_rows row(s) as op r"
    ((snapshot_rows > 0)) || { echo "mirror_test: no op r record in $topic" >&2; exit 1; }
    python3 "$here/changes_once.py" <"$log.topic.json"
    exit 0
  fi
  kill -0 "$peer_pid" 2>/dev/null || { echo "mirror_test: the $kind peer exited; see $log.*" >&2; break; }
  sleep 1
done
echo "mirror_test: the mirror differs from the table (seed $seed):" >&2
# diff exits 1 on a difference: under errexit and pipefail it would end the
# test here, before the topic and the peer's log are kept.
{ diff "$work/source.txt" "$work/mirror.txt" || true; } | head -20 >&2
echo "the table: $(wc -l <"$work/source.txt") rows; the mirror: $(wc -l <"$work/mirror.txt") rows" >&2
# A mirror read that failed (its database refused the role, say) is not an
# empty mirror.
if [[ -s $work/mirror.err ]]; then
  echo "reading the mirror failed: $(head -c 500 "$work/mirror.err")" >&2
fi
# The topic as a read_committed consumer reads it, kept (the exit deletes
# the topic) for what the peer was given.
dump_topic "$topic" >"$log.topic.json"
echo "the topic's records: $log.topic.json ($(wc -l <"$log.topic.json") records)" >&2
# What the peer and the feed said last (stack frames left out): the run on
# record may be all there is of a failure.
for f in "$log.flink" "$log.connect" "$log.feed"; do
  [[ -f $f ]] || continue
  echo "--- the end of $f:" >&2
  { grep -v $'^[ \t]*at ' "$f" || true; } | tail -n 8 >&2
done
exit 1
