#!/usr/bin/env bash
# peers.debezium: millrace-changefeed --format debezium against Debezium
# itself. Debezium 3.6.1's PostgreSQL connector runs in Kafka Connect
# standalone (one JVM, jars from Maven Central through
# tests/peers/connect/pom.xml), twice: with JsonConverter's schemas off and
# on, each on a slot of its own. Beside it two feeds run on two more slots
# with --schemas off and on. All four read the same changes
# (debezium_changes.sql on debezium_tables.sql), and each Millrace topic must
# equal its Debezium twin record by record (debezium_compare.py).
#
#   debezium_test.sh SOURCE_DIR BUILD_DIR   (MILLRACE_STATE_DIR: the stack)
set -euo pipefail

src=$1
build=$2
here=$src/tests/peers
. "$src/tests/stack_env.sh" "$src"
suffix="$$_$RANDOM"
schema=dbz_$suffix
role=dbz_peer_$suffix
password=dbz-peer-pw
publication=dbz_pub_$suffix
work=$build/peers/debezium-$suffix
logs=$build/test-logs
mkdir -p "$work" "$logs"
log=$logs/peers-debezium-$suffix
export MILLRACE_PG_SCHEMA=$schema

pids=()
slots=()
topics=()
cleanup() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  for slot in "${slots[@]}"; do
    psql -X -q "$superuser" -c "SELECT pg_drop_replication_slot('$slot') FROM pg_replication_slots WHERE slot_name = '$slot'" >/dev/null 2>&1 || true
  done
  psql -X -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $schema CASCADE" \
    -c "DROP PUBLICATION IF EXISTS $publication" >/dev/null 2>&1 || true
  psql -X -q "$superuser" -c "DROP OWNED BY $role" -c "DROP ROLE IF EXISTS $role" >/dev/null 2>&1 || true
  if ((${#topics[@]})); then
    java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
      -cp "$(<"$MILLRACE_STATE_DIR/kafka.classpath")" org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$MILLRACE_BROKERS" --delete \
      --topic "$(IFS='|'; echo "${topics[*]}")" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

# The Connect classpath, resolved once into the build tree.
classpath=$build/peers/debezium.classpath
if [[ ! -s $classpath || $here/connect/pom.xml -nt $classpath ]]; then
  echo "resolving Kafka Connect and Debezium with Maven (the first run downloads ~40 MB)"
  MAVEN_OPTS="-XX:TieredStopAtLevel=1 -XX:+UseSerialGC ${MAVEN_OPTS:-}" \
    mvn -B -q -Dstyle.color=never -f "$here/connect/pom.xml" dependency:build-classpath \
    -Dmdep.outputFile="$classpath.tmp" >"$log.maven" 2>&1 || {
    tail -30 "$log.maven" >&2
    echo "debezium_test: Maven could not resolve the Connect and Debezium jars" >&2
    exit 1
  }
  mv -f "$classpath.tmp" "$classpath"
fi

psql -X -q -v ON_ERROR_STOP=1 "$superuser" \
  -c "CREATE ROLE $role LOGIN REPLICATION PASSWORD '$password'" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" >/dev/null <<SQL
CREATE SCHEMA $schema;
SET search_path TO $schema;
\i $here/debezium_tables.sql
GRANT USAGE ON SCHEMA $schema TO $role;
SQL
"$build/bin/millrace" changefeed publish --publication "$publication" \
  --tables types,pairs,loose --grant-select "$role" >/dev/null
peer_url="postgresql://$role:$password@127.0.0.1:$pg_port/millrace"

wait_slot() {
  local slot=$1 i
  for ((i = 0; i < 120; i++)); do
    [[ $(psql -X -tA "$superuser" -c "SELECT active FROM pg_replication_slots WHERE slot_name = '$slot'") == t ]] && return 0
    sleep 1
  done
  echo "debezium_test: slot $slot never became active; see $log.*" >&2
  exit 1
}

# Debezium: one Connect JVM, one connector per schema setting.
cat >"$work/worker.properties" <<EOF2
bootstrap.servers=$MILLRACE_BROKERS
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
offset.storage.file.filename=$work/offsets
offset.flush.interval.ms=1000
listeners=http://127.0.0.1:0
plugin.path=
EOF2
connectors=()
for schemas in false true; do
  name=dbz_${schemas}_$suffix
  slots+=("$name")
  topics+=("$name.$schema.types" "$name.$schema.pairs" "$name.$schema.loose")
  cat >"$work/$name.properties" <<EOF2
name=$name
connector.class=io.debezium.connector.postgresql.PostgresConnector
tasks.max=1
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=$schemas
value.converter.schemas.enable=$schemas
plugin.name=pgoutput
database.hostname=127.0.0.1
database.port=$pg_port
database.user=$role
database.password=$password
database.dbname=millrace
topic.prefix=$name
slot.name=$name
publication.name=$publication
publication.autocreate.mode=disabled
schema.include.list=$schema
snapshot.mode=no_data
skipped.operations=none
topic.creation.default.replication.factor=-1
topic.creation.default.partitions=1
EOF2
  connectors+=("$work/$name.properties")
done
java -Xms64m -Xmx512m -XX:+UseSerialGC -Dlog4j.configuration="file:$here/connect/log4j.properties" \
  -cp "$(<"$classpath")" org.apache.kafka.connect.cli.ConnectStandalone \
  "$work/worker.properties" "${connectors[@]}" >"$log.connect" 2>&1 &
pids+=($!)

# Millrace: one feed per schema setting, each on its own slot, prefix topic
# of one partition as Debezium's here.
for schemas in false true; do
  name=mr_${schemas}_$suffix
  slots+=("$name")
  topics+=("$name" "$name.$schema.types" "$name.$schema.pairs" "$name.$schema.loose")
  java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$(<"$MILLRACE_STATE_DIR/kafka.classpath")" \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$MILLRACE_BROKERS" --create \
    --topic "$name" --partitions 1 >>"$log.topics" 2>&1
  "$build/bin/millrace-changefeed" --pg "$peer_url" --format debezium --schemas="$schemas" \
    --topic-per-table --topic "$name" --slot "$name" --publication "$publication" \
    --metrics-addr '' >"$log.$name" 2>&1 &
  pids+=($!)
done
for slot in "${slots[@]}"; do wait_slot "$slot"; done

psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" >/dev/null <<SQL
SET search_path TO $schema;
\i $here/debezium_changes.sql
SQL

# Every topic holds what it will once the last change is in Debezium's.
dump() {
  kcat -b "$MILLRACE_BROKERS" -C -t "$1" -e -q -J -X isolation.level=read_committed 2>/dev/null || true
}
expect=0
for ((i = 0; i < 120; i++)); do
  expect=$(dump "dbz_true_$suffix.$schema.loose" | grep -c 'after truncate' || true)
  got=$(dump "mr_true_$suffix.$schema.loose" | grep -c 'after truncate' || true)
  got2=$(dump "dbz_false_$suffix.$schema.loose" | grep -c 'after truncate' || true)
  got3=$(dump "mr_false_$suffix.$schema.loose" | grep -c 'after truncate' || true)
  ((expect && got && got2 && got3)) && break
  sleep 1
done
failed=0
for schemas in false true; do
  for table in types pairs loose; do
    dbz=dbz_${schemas}_$suffix
    mr=mr_${schemas}_$suffix
    dump "$dbz.$schema.$table" >"$work/$dbz.$table.jsonl"
    dump "$mr.$schema.$table" >"$work/$mr.$table.jsonl"
    echo "== $table, schemas $schemas"
    python3 "$here/debezium_compare.py" "$work/$dbz.$table.jsonl" "$dbz" \
      "$work/$mr.$table.jsonl" "$mr" || failed=1
  done
done
exit $failed
