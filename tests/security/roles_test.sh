#!/usr/bin/env bash
# integration.roles: every service runs with a role of its own that has
# only what `millrace grant` and `millrace api grant` give it, and is
# refused beyond that.
#
#   roles_test.sh SOURCE_DIR BUILD_DIR
#
# An owner role (the schema is created for it; CREATE on the database only
# for the change feed's publication) migrates and grants. Then the sink, the aggregator, the archiver, the
# webhooks dispatcher and the cache run with MILLRACE_MIGRATE=false, each
# as its own role, and millrace-api as a reader (views) and an admin
# (catalog writes); the change feed as the stack's replication role.
# 1,000 events later each group has consumed and accounted for all of them,
# a webhook delivery was enqueued, the cache holds the catalog and the API
# answers. Then, as each role: no DROP, CREATE, TRUNCATE or DELETE on what
# it does not own or need, no reading another service's tables (the
# webhook secrets above all), and for the reader no write and no `COPY ...
# TO PROGRAM`.
#
# MILLRACE_STATE_DIR names the stack (tests/in_stack.sh).
set -euo pipefail

. "$(dirname "$0")/setup.sh" roles "$1" "$2"
password=pw-$RANDOM$RANDOM
kinds=(owner sink aggregator archiver webhooks cache reader admin)
url() { echo "postgresql://${name}_$1:$password@127.0.0.1:$pg_port/millrace"; }

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  psql -X -q "$superuser" -c "SELECT pg_drop_replication_slot('$name') FROM pg_replication_slots WHERE slot_name = '$name'" \
    >/dev/null 2>&1 || true
  psql -X -q "$superuser" -c "DROP SCHEMA IF EXISTS $name CASCADE" -c "DROP PUBLICATION IF EXISTS $name" \
    >/dev/null 2>&1 || true
  psql -X -q "$superuser" -c "REVOKE CREATE ON DATABASE millrace FROM ${name}_owner" >/dev/null 2>&1 || true
  for k in "${kinds[@]}"; do
    psql -X -q "$superuser" -c "DROP OWNED BY ${name}_$k" -c "DROP ROLE IF EXISTS ${name}_$k" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

# The roles, as a DBA makes them; the owner gets the schema, not the database.
{
  for k in "${kinds[@]}"; do echo "CREATE ROLE ${name}_$k LOGIN PASSWORD '$password';"; done
  echo "CREATE SCHEMA $name AUTHORIZATION ${name}_owner;"
  # PostgreSQL's rule for CREATE PUBLICATION (the change feed's): CREATE on
  # the database. Without the change feed the owner does not need it.
  echo "GRANT CREATE ON DATABASE millrace TO ${name}_owner;"
  # The change feed's role reads the published tables.
  echo "GRANT USAGE ON SCHEMA $name TO millrace_changefeed;"
  echo "ALTER DEFAULT PRIVILEGES FOR ROLE ${name}_owner IN SCHEMA $name GRANT SELECT ON TABLES TO millrace_changefeed;"
} | psql -X -q -v ON_ERROR_STOP=1 "$superuser" >/dev/null

export MILLRACE_BROKERS MILLRACE_PG_SCHEMA=$name MILLRACE_TOPIC=$name MILLRACE_DLQ_TOPIC=$name.dlq
export MILLRACE_CHANGES_TOPIC=$name.changes MILLRACE_API_DEAD_LETTER_TOPICS=$name.dlq
export MILLRACE_SINK_GROUP=${name}_sink MILLRACE_AGGREGATOR_GROUP=${name}_agg
export MILLRACE_ARCHIVER_GROUP=${name}_arch MILLRACE_WEBHOOKS_GROUP=${name}_hooks
export MILLRACE_CHANGEFEED_SLOT=$name MILLRACE_CHANGEFEED_PUBLICATION=$name
export MILLRACE_ARCHIVE_ROOT=$work/archive MILLRACE_ARCHIVE_WINDOW_S=1 MILLRACE_CACHE_PREFIX=$name:
export MILLRACE_METRICS_ADDR=127.0.0.1:0 MILLRACE_SESSION_TIMEOUT_MS=6000
mkdir -p "$MILLRACE_ARCHIVE_ROOT"

# The owner migrates and grants.
as_owner() { MILLRACE_PG=$(url owner) "$millrace" "$@" >>"$logs/$name.owner.log" 2>&1 || { cat "$logs/$name.owner.log" >&2; fail "millrace $* as the owner failed"; }; }
as_owner migrate
as_owner create-topics
as_owner grant --sink "${name}_sink" --aggregator "${name}_aggregator" --archiver "${name}_archiver" \
  --webhooks "${name}_webhooks" --cache "${name}_cache"
as_owner api grant --reader "${name}_reader" --admin "${name}_admin"
"$millrace" generate --catalog categories --format csv >"$work/categories.csv"
"$millrace" generate --catalog products >"$work/products.ndjson"
as_owner catalog load "$work/categories.csv"
as_owner catalog load "$work/products.ndjson"
as_owner changefeed publish
as_owner webhooks add --url http://127.0.0.1:9/hook --allow-private --tables store_events

start() {
  local service=$1 role=$2
  shift 2
  env MILLRACE_MIGRATE=false MILLRACE_PG="$(url "$role")" "$@" "$build/bin/millrace-$service" \
    >"$logs/$name.$service.log" 2>&1 &
  pids+=($!)
}
start sink sink
start aggregator aggregator
start archiver archiver
start webhooks webhooks
start cache cache
start changefeed owner MILLRACE_CHANGEFEED_PG="$MILLRACE_CHANGEFEED_PG"
api_port=$(free_port)
token=tok-$RANDOM$RANDOM
start api reader MILLRACE_API_ADDR=127.0.0.1:$api_port MILLRACE_API_PG="$(url reader)" \
  MILLRACE_API_ADMIN_PG="$(url admin)" MILLRACE_API_ADMIN_TOKEN=$token \
  MILLRACE_REDIS_URL=

# The events go in once the change feed streams: written before its slot
# exists, their rows would never reach the change topic, and no webhook
# delivery could follow.
for _ in $(seq 1 600); do
  grep -q "streaming slot" "$logs/$name.changefeed.log" 2>/dev/null && break
  sleep 0.2
done
grep -q "streaming slot" "$logs/$name.changefeed.log" ||
  { tail -n 20 "$logs/$name.changefeed.log" >&2; fail "the change feed did not stream"; }
as_owner produce --count 1000 --bad-ratio 0.05

owner_sql() { psql -X -At "$(url owner)" -c "$1"; }
accounted() {
  owner_sql "SELECT coalesce(sum(consumed), 0) = 1000 AND bool_and(unaccounted = 0)
             FROM $name.partition_accounting WHERE group_id = '$1'"
}
for group in "${name}_sink" "${name}_agg" "${name}_arch"; do
  for _ in $(seq 1 600); do
    [[ $(accounted "$group") == t ]] && break
    for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null || { tail -n 5 "$logs/$name".*.log >&2; fail "a service exited"; }; done
    sleep 0.2
  done
  [[ $(accounted "$group") == t ]] || { tail -n 20 "$logs/$name".*.log >&2; fail "$group did not account for 1,000 events"; }
  echo "roles_test: $group consumed and accounted for all 1,000 events with its own role"
done
for _ in $(seq 1 600); do
  [[ $(owner_sql "SELECT count(*) > 0 FROM $name.webhook_deliveries") == t ]] && break
  sleep 0.2
done
[[ $(owner_sql "SELECT count(*) > 0 FROM $name.webhook_deliveries") == t ]] ||
  { tail -n 20 "$logs/$name.webhooks.log" "$logs/$name.changefeed.log" >&2; fail "no webhook delivery was enqueued"; }
echo "roles_test: millrace-webhooks enqueued deliveries with its own role"
[[ $(redis-cli -u "$MILLRACE_REDIS_URL" --scan --pattern "$name:*" | head -1) != "" ]] ||
  { tail -n 20 "$logs/$name.cache.log" >&2; fail "the cache wrote nothing to Redis"; }
echo "roles_test: millrace-cache seeded Redis with its own role"
curl -fsS "http://127.0.0.1:$api_port/v1/views/hourly_sales" >/dev/null ||
  fail "the API (reader role) did not answer a view"
status=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $token" \
  -H 'Content-Type: application/json' -d '{"display_name":"Roles"}' "http://127.0.0.1:$api_port/v1/categories/roles-test")
[[ $status == 200 || $status == 201 ]] || fail "the API's admin write (admin role) answered $status"
echo "roles_test: millrace-api read as its reader and wrote the catalog as its admin"

# Every service stops cleanly: none hit a privilege error on the way.
for pid in "${pids[@]}"; do kill -TERM "$pid"; done
for pid in "${pids[@]}"; do wait "$pid" || fail "a service exited $? on SIGTERM (see $logs/$name.*.log)"; done
pids=()
if grep -l "permission denied\|must be owner" "$logs/$name".*.log; then fail "a service was refused a privilege it needs"; fi

# Refused beyond its role: each statement must fail with SQLSTATE 42501
# (insufficient privilege); psql prints the code with VERBOSITY verbose.
refused() {
  local role=$1 sql=$2 out
  if out=$(psql -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=verbose "$(url "$role")" -c "$sql" 2>&1); then
    fail "$role may: $sql"
  fi
  grep -q "42501" <<<"$out" || fail "$role: $sql failed, but not for lack of privilege: $out"
}
for role in sink aggregator archiver webhooks cache reader admin; do
  refused "$role" "DROP TABLE $name.store_events"
  refused "$role" "CREATE TABLE $name.intruder (i int)"
  refused "$role" "CREATE SCHEMA ${name}_intruder"
  refused "$role" "TRUNCATE $name.store_events"
  refused "$role" "ALTER TABLE $name.consumer_offsets ADD COLUMN x int"
  refused "$role" "COPY (SELECT 1) TO PROGRAM 'true'"
done
for role in sink aggregator archiver cache reader admin; do
  refused "$role" "SELECT secret FROM $name.webhook_endpoints"
done
for role in aggregator archiver webhooks cache reader admin; do
  refused "$role" "SELECT * FROM $name.store_events LIMIT 1"
done
refused sink "DELETE FROM $name.store_events"
refused sink "UPDATE $name.agg_hourly SET events = 0"
refused aggregator "INSERT INTO $name.archive_files (group_id) VALUES ('x')"
refused archiver "DELETE FROM $name.consumer_offsets"
refused webhooks "INSERT INTO $name.webhook_endpoints (url) VALUES ('http://x')"
refused cache "INSERT INTO $name.categories (name, display_name) VALUES ('x', 'x')"
refused reader "INSERT INTO $name.categories (name, display_name) VALUES ('x', 'x')"
refused reader "UPDATE $name.products SET name = 'x'"
refused admin "DELETE FROM $name.agg_daily"
echo "roles_test: every role was refused DDL, COPY TO PROGRAM and what belongs to others"
