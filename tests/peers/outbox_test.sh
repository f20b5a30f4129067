#!/usr/bin/env bash
# peers.outbox: millrace-changefeed --format outbox against Debezium's outbox
# event router itself. Debezium 3.6.1's PostgreSQL connector with the
# EventRouter SMT runs in Kafka Connect 3.9.1 standalone (the jars of
# tests/peers/connect/pom.xml, as peers.debezium), four times: with the router's
# defaults, additional fields in headers and tombstones on empty payloads
# (key and value through StringConverter), with a field in the envelope, and
# with the payload expanded (value through JsonConverter, schemas off), and
# with the records' timestamp taken from a column (table.field.event.timestamp;
# their timestamps compared too) and a route regex of its own
# (route.topic.regex, which every aggregate type matches whole).
# Beside them four outbox feeds with the same settings, each on a slot of
# its own. All eight read the same transactions (outbox_changes.sql) on the table
# `millrace outbox install` creates, and each Millrace topic must equal its
# Debezium twin record by record (outbox_compare.py).
#
#   outbox_test.sh SOURCE_DIR BUILD_DIR   (MILLRACE_STATE_DIR: the stack)
. "$(dirname "$0")/lib.sh" obx "$1" "$2"

classpath=$(peer_classpath "$here/connect/pom.xml" debezium)
"$build/bin/millrace" outbox install --table outbox --publication "$publication" \
  --grant-select "$role" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" \
  -c "ALTER TABLE $schema.outbox ADD COLUMN tenant int, ADD COLUMN trace text,
        ADD COLUMN occurred timestamp" >/dev/null

# The settings, as the router names them and as the feed does.
declare -A dbz_settings mr_settings
dbz_settings[plain]="value.converter=org.apache.kafka.connect.storage.StringConverter
transforms.outbox.table.fields.additional.placement=type:header:eventType,tenant:header,trace:header
transforms.outbox.route.tombstone.on.empty.payload=true"
mr_settings[plain]="--outbox-additional-fields type:header:eventType,tenant:header,trace:header
--outbox-tombstone-on-empty-payload"
dbz_settings[envelope]="value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
transforms.outbox.table.fields.additional.placement=type:envelope:eventType,tenant:header"
mr_settings[envelope]="--outbox-additional-fields type:envelope:eventType,tenant:header"
# The router cannot put an expanded payload into an envelope (the
# envelope's payload field keeps the column's string schema): headers only.
dbz_settings[expanded]="value.converter=org.apache.kafka.connect.json.JsonConverter
value.converter.schemas.enable=false
transforms.outbox.table.expand.json.payload=true
transforms.outbox.table.fields.additional.placement=type:header:eventType,tenant:header"
mr_settings[expanded]="--outbox-expand-json-payload
--outbox-additional-fields type:header:eventType,tenant:header"
# Debezium takes a timestamp column's value as milliseconds (its
# MicroTimestamp truncated); a timestamptz would fail its task.
dbz_settings[stamped]="value.converter=org.apache.kafka.connect.storage.StringConverter
transforms.outbox.table.field.event.timestamp=occurred
transforms.outbox.route.topic.regex=(?<routedByValue>[a-z]+)"
mr_settings[stamped]="--outbox-timestamp-column occurred
--outbox-topic-regex (?<routedByValue>[a-z]+)"
variants=(plain envelope expanded stamped)
types=(order customer shipment done)

connect_worker "$work/worker.properties" </dev/null
connectors=()
for v in "${variants[@]}"; do
  name=obxdbz_${v}_$suffix
  slots+=("$name")
  for t in "${types[@]}"; do topics+=("$name.$t"); done
  {
    debezium_connector "$name"
    cat <<EOF2
key.converter=org.apache.kafka.connect.storage.StringConverter
${dbz_settings[$v]}
table.include.list=$schema.outbox
tombstones.on.delete=false
transforms=outbox
transforms.outbox.type=io.debezium.transforms.outbox.EventRouter
transforms.outbox.route.topic.replacement=$name.\${routedByValue}
EOF2
  } >"$work/$name.properties"
  connectors+=("$work/$name.properties")
done
start_connect "$classpath" "$work/worker.properties" "${connectors[@]}"

for v in "${variants[@]}"; do
  name=obxmr_${v}_$suffix
  slots+=("$name")
  topics+=("$name")
  for t in "${types[@]}"; do topics+=("$name.$t"); done
  create_topic "$name" 1
  flags=()
  while read -ra words; do flags+=("${words[@]}"); done <<<"${mr_settings[$v]}"
  "$build/bin/millrace-changefeed" --pg "$(role_url millrace)" --format outbox --topic "$name" \
    --slot "$name" --publication "$publication" --outbox-topic "$name.\${routedByValue}" \
    "${flags[@]}" --metrics-addr '' >"$log.$name" 2>&1 &
  pids+=($!)
done
for slot in "${slots[@]}"; do wait_slot "$slot"; done

# Every occurred value is hours before this.
since_ms=$(($(date +%s) * 1000))
psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" -c "SET search_path TO $schema" \
  -f "$here/outbox_changes.sql" >/dev/null

# Every topic holds all it will once the last event is in each "done" topic.
for ((i = 0; i < 120; i++)); do
  done_topics=0
  for v in "${variants[@]}"; do
    for side in obxdbz obxmr; do
      if dump_topic "${side}_${v}_$suffix.done" | grep -q '"key":"end"'; then
        done_topics=$((done_topics + 1))
      fi
    done
  done
  ((done_topics == 2 * ${#variants[@]})) && break
  sleep 1
done
failed=0
for v in "${variants[@]}"; do
  dbz=obxdbz_${v}_$suffix
  mr=obxmr_${v}_$suffix
  for t in "${types[@]}"; do
    dump_topic "$dbz.$t" >"$work/$dbz.$t.jsonl"
    dump_topic "$mr.$t" >"$work/$mr.$t.jsonl"
    echo "== $t, $v"
    since=()
    [[ $v == stamped ]] && since=("$since_ms")
    python3 "$here/outbox_compare.py" "$work/$dbz.$t.jsonl" "$dbz" "$work/$mr.$t.jsonl" "$mr" \
      "${since[@]}" || failed=1
  done
  # Nothing of these rows is a dead letter.
  if [[ -n $(dump_topic "$mr") ]]; then
    echo "$mr holds dead letters:"
    dump_topic "$mr"
    failed=1
  fi
done
exit $failed
