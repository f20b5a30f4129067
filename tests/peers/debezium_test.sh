#!/usr/bin/env bash
# peers.debezium: millrace-changefeed --format debezium against Debezium
# itself. Debezium 3.6.1's PostgreSQL connector runs in Kafka Connect
# standalone (one JVM, jars from Maven Central through
# tests/peers/connect/pom.xml), twice: with JsonConverter's schemas off and
# on, each on a slot of its own, with transaction metadata. Beside it two
# feeds run on two more slots with --schemas off and on. All four read the same changes
# (debezium_changes.sql on debezium_tables.sql), and each Millrace topic must
# equal its Debezium twin record by record (debezium_compare.py).
#
#   debezium_test.sh SOURCE_DIR BUILD_DIR   (MILLRACE_STATE_DIR: the stack)
. "$(dirname "$0")/lib.sh" dbz "$1" "$2"

classpath=$(peer_classpath "$here/connect/pom.xml" debezium)
psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" -c "SET search_path TO $schema" \
  -f "$here/debezium_tables.sql" >/dev/null
"$build/bin/millrace" changefeed publish --publication "$publication" \
  --tables types,pairs,loose --grant-select "$role" >/dev/null

# Debezium: one Connect JVM, one connector per schema setting.
connect_worker "$work/worker.properties" </dev/null
connectors=()
for schemas in false true; do
  name=dbz_${schemas}_$suffix
  slots+=("$name")
  topics+=("$name.$schema.types" "$name.$schema.pairs" "$name.$schema.loose" "$name.transaction")
  {
    debezium_connector "$name"
    cat <<EOF2
key.converter=org.apache.kafka.connect.json.JsonConverter
value.converter=org.apache.kafka.connect.json.JsonConverter
key.converter.schemas.enable=$schemas
value.converter.schemas.enable=$schemas
schema.include.list=$schema
skipped.operations=none
provide.transaction.metadata=true
EOF2
  } >"$work/$name.properties"
  connectors+=("$work/$name.properties")
done
start_connect "$classpath" "$work/worker.properties" "${connectors[@]}"

# Millrace: one feed per schema setting, each on its own slot, its topics
# of one partition as Debezium's here.
for schemas in false true; do
  name=mr_${schemas}_$suffix
  slots+=("$name")
  topics+=("$name.$schema.types" "$name.$schema.pairs" "$name.$schema.loose" "$name.transaction")
  create_topic "$name" 1
  "$build/bin/millrace-changefeed" --pg "$(role_url millrace)" --format debezium \
    --schemas="$schemas" --topic-per-table --transaction-metadata --topic "$name" --slot "$name" \
    --publication "$publication" --metrics-addr '' >"$log.$name" 2>&1 &
  pids+=($!)
done
for slot in "${slots[@]}"; do wait_slot "$slot"; done

psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" -c "SET search_path TO $schema" \
  -f "$here/debezium_changes.sql" >/dev/null

# Every topic holds all it will once the last change is in each.
for ((i = 0; i < 120; i++)); do
  done_topics=0
  for side in dbz_false dbz_true mr_false mr_true; do
    if dump_topic "${side}_$suffix.$schema.loose" | grep -q 'after truncate'; then
      done_topics=$((done_topics + 1))
    fi
  done
  ((done_topics == 4)) && break
  sleep 1
done
failed=0
for schemas in false true; do
  for table in $schema.types $schema.pairs $schema.loose transaction; do
    dbz=dbz_${schemas}_$suffix
    mr=mr_${schemas}_$suffix
    dump_topic "$dbz.$table" >"$work/$dbz.$table.jsonl"
    dump_topic "$mr.$table" >"$work/$mr.$table.jsonl"
    echo "== $table, schemas $schemas"
    python3 "$here/debezium_compare.py" "$work/$dbz.$table.jsonl" "$dbz" \
      "$work/$mr.$table.jsonl" "$mr" || failed=1
  done
done
exit $failed
