#!/usr/bin/env bash
# integration.api-schemathesis: schemathesis (pinned below; scripts/bootstrap
# installs it into .cache/venv) against a live millrace-api on a schema of
# its own, with the generated catalog loaded, some aggregates and
# accounting rows, two webhook endpoints (registered through the API) with
# deliveries, the two roles `millrace api grant` makes, and a kind of its
# own declared in a kinds directory (a flat one, without lines), whose views
# the API serves. Every response must match the OpenAPI description the
# service serves (GET /v1/openapi.yaml: proto/openapi.yaml with the declared
# kinds' views) and no input may get a 5xx (--checks all);
# the admin token is sent, so the writes and /v1/webhooks are exercised too.
#
#   api_schemathesis.sh SOURCE_DIR BUILD_DIR   (MILLRACE_STATE_DIR: the stack)
set -euo pipefail

readonly SCHEMATHESIS_VERSION=4.32.5
src=$1
build=$2
st=${MILLRACE_SCHEMATHESIS:-$src/.cache/venv/bin/schemathesis}
if [[ ! -x $st ]]; then
  echo "api_schemathesis: schemathesis is not installed at $st;" \
    "run scripts/bootstrap (it installs schemathesis==$SCHEMATHESIS_VERSION there)" >&2
  exit 1
fi
if ! "$st" --version | grep -qF "$SCHEMATHESIS_VERSION"; then
  echo "api_schemathesis: $st is $("$st" --version), not $SCHEMATHESIS_VERSION;" \
    "run scripts/bootstrap" >&2
  exit 1
fi

. "$src/tests/stack_env.sh" "$src"
suffix="$$_$RANDOM"
schema=api_st_$suffix
reader=api_st_reader_$suffix
admin=api_st_admin_$suffix
password=api-st-pw
token=api-st-token-$RANDOM$RANDOM
logs=$build/test-logs
work=$build/api-schemathesis
mkdir -p "$logs" "$work"
export MILLRACE_PG MILLRACE_PG_SCHEMA=$schema

api_pid=
cleanup() {
  if [[ -n $api_pid ]] && kill -0 "$api_pid" 2>/dev/null; then
    kill -TERM "$api_pid"
    wait "$api_pid" || true
  fi
  psql -X -q "$superuser" -c "DROP OWNED BY $reader, $admin" -c "DROP ROLE $reader" \
    -c "DROP ROLE $admin" >/dev/null 2>&1 || true
  psql -X -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null 2>&1 || true
}
trap cleanup EXIT

millrace=$build/bin/millrace
# A kind of the test's own: its views (parcels_*) are served and fuzzed too.
export MILLRACE_KINDS_DIR=$work/kinds
mkdir -p "$MILLRACE_KINDS_DIR"
cat >"$MILLRACE_KINDS_DIR/parcel.json" <<'JSON'
{"kind": "parcel", "description": "A parcel",
 "topic": {"name": "parcels", "env": "MILLRACE_PARCELS_TOPIC", "partitions": 1},
 "table": "parcels", "identity": "Id", "time": "At",
 "fields": [{"name": "Id", "column": "id", "type": "uuid", "required": true},
            {"name": "At", "column": "at", "type": "timestamp", "required": true},
            {"name": "Kg", "column": "kg", "type": "decimal", "required": true, "min": 0, "max": 100}],
 "aggregate": {"name": "parcels", "records_as": "parcels", "amount": "Kg", "amount_as": "kilograms"}}
JSON
"$millrace" migrate >/dev/null
"$millrace" generate --catalog categories --format csv >"$work/categories.csv"
"$millrace" generate --catalog products >"$work/products.ndjson"
"$millrace" catalog load "$work/categories.csv" >/dev/null
"$millrace" catalog load "$work/products.ndjson" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" >/dev/null <<SQL
SET search_path TO $schema;
INSERT INTO agg_hourly VALUES
  (date_trunc('hour', now(), 'UTC'), 'sale_event', 'Pens', 2, 3, 10.25, 0.5, 0),
  ('2026-11-21T10:00:00Z', 'inventory_event', 'Pens', 4, 40, 0, 0, 0),
  ('2026-11-21T11:00:00Z', 'sale_event', 'Rulers', 1, -1, -3.333333, -0.1, 1);
INSERT INTO agg_daily SELECT date_trunc('day', window_start, 'UTC'), event_type, category,
  sum(events), sum(units), sum(revenue), sum(discount_total), sum(returns)
  FROM agg_hourly GROUP BY 1, 2, 3;
INSERT INTO agg_products VALUES (145150, 10, 35.00), (42, 5, 1);
INSERT INTO agg_categories VALUES ('Pens', 3, 10, 35.00, 0), ('Kites', 1, 5, 1, 0);
INSERT INTO consumer_offsets (group_id, topic, partition, next_offset, records_consumed)
  VALUES ('millrace-sink', 'store-events', 0, 10, 10), ('millrace-aggregator', 'store-events', 1, NULL, 0);
INSERT INTO record_outcomes VALUES ('millrace-sink', 'store-events', 0, 'persisted', '', 10);
INSERT INTO agg_parcels_hourly VALUES (date_trunc('hour', now(), 'UTC'), 2, 3.5, 0),
  ('2026-11-21T10:00:00Z', 1, 0.25, 0);
INSERT INTO agg_parcels_daily SELECT date_trunc('day', window_start, 'UTC'), sum(records),
  sum(amount), sum(units) FROM agg_parcels_hourly GROUP BY 1;
SQL
psql -X -q -v ON_ERROR_STOP=1 "$superuser" >/dev/null <<SQL
CREATE ROLE $reader LOGIN PASSWORD '$password';
CREATE ROLE $admin LOGIN PASSWORD '$password';
SQL
"$millrace" api grant --reader "$reader" --admin "$admin" >/dev/null

api_port=$("$src/tests/support/free-port")
# Webhook URLs may name loopback: the examples' and the seeded endpoints'
# (nothing is sent to them; no millrace-webhooks runs). A generated URL's
# host is still looked up, and one that does not resolve is a 422.
MILLRACE_API_ADDR=127.0.0.1:$api_port MILLRACE_WEBHOOKS_ALLOW_PRIVATE=true \
  MILLRACE_API_PG=postgresql://$reader:$password@127.0.0.1:$pg_port/millrace \
  MILLRACE_API_ADMIN_PG=postgresql://$admin:$password@127.0.0.1:$pg_port/millrace \
  MILLRACE_API_ADMIN_TOKEN=$token MILLRACE_API_READ_TOKEN="read-$token" \
  "$build/bin/millrace-api" >"$logs/$schema.api.log" 2>&1 &
api_pid=$!
for _ in $(seq 1 300); do
  curl -fsS "http://127.0.0.1:$api_port/readyz" >/dev/null 2>&1 && break
  kill -0 "$api_pid" 2>/dev/null || { cat "$logs/$schema.api.log" >&2; exit 1; }
  sleep 0.2
done
curl -fsS "http://127.0.0.1:$api_port/readyz" >/dev/null
# The description the service serves: the contract checked below.
curl -fsS -H "Authorization: Bearer $token" "http://127.0.0.1:$api_port/v1/openapi.yaml" \
  >"$work/openapi.yaml"
for path in /v1/views/web_orders_today /v1/views/parcels_hourly /v1/views/parcels_today; do
  grep -qx "  $path:" "$work/openapi.yaml" || {
    echo "api_schemathesis: GET /v1/openapi.yaml does not document $path" >&2
    exit 1
  }
done

# Endpoints 1 and 2, through the API as a client registers them (the id
# parameter's example is 1), and deliveries of endpoint 1 in each state, so
# that reads, pages and replays find rows.
register() {
  curl -fsS -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    "http://127.0.0.1:$api_port/v1/webhooks/endpoints" -d "$1" >"$work/registered.json" || {
    echo "api_schemathesis: registering a webhook endpoint failed: $1" >&2
    cat "$logs/$schema.api.log" >&2
    exit 1
  }
  grep -q '"secret":"whsec_' "$work/registered.json" || {
    echo "api_schemathesis: no secret in $(cat "$work/registered.json")" >&2
    exit 1
  }
}
register '{"url":"http://127.0.0.1:9/seeded","description":"seeded","tables":["public.products"]}'
register '{"url":"http://localhost:9/filtered","format":"cloudevents-binary","rate_limit":5,
  "filter":{"includedEventTypes":["com.millrace.row.updated"],"subjectBeginsWith":"public.",
  "advancedFilters":[{"operatorType":"NumberGreaterThan","key":"data.after.discount","value":50}]}}'
psql -X -q -v ON_ERROR_STOP=1 "$MILLRACE_PG" >/dev/null <<SQL
SET search_path TO $schema;
INSERT INTO webhook_deliveries (endpoint_id, change_id, body, committed_at, status, attempts,
    last_attempt_at, last_status, last_error, delivered_at)
  SELECT 1, lpad(to_hex(n), 16, '0') || '-00000001', '{}', now(), s, a, now(), st, e,
         CASE WHEN s = 'delivered' THEN now() END
  FROM (VALUES (1, 'delivered', 1, 200, NULL), (2, 'failed', 8, 503, 'HTTP 503'),
               (3, 'failed', 8, NULL, 'connection refused'), (4, 'pending', 0, NULL, NULL))
       AS d(n, s, a, st, e);
SQL

# Reads need a token here too (the admin token, which schemathesis sends,
# also reads), so the reads' 401 path is part of the contract checked.
# /v1/stream stays open (Server-Sent Events): a request/response fuzzer
# cannot judge it; tests/browser/dashboard_test.sh and the unit tests do.
# One worker (so a DELETE and the GET that checks it are not interleaved
# with another worker's PUT of the same key), a fixed seed, and a bounded
# number of examples per operation: a few minutes on two cores.
status=0
# api_schemathesis.toml: what schema-valid data may be refused for (422),
# where the contract cannot say it (a URL's host must resolve, the filter
# must be one Event Grid takes).
"$st" --no-color --config-file "$src/tests/integration/api_schemathesis.toml" \
  run "$work/openapi.yaml" \
  --url "http://127.0.0.1:$api_port" \
  --header "Authorization: Bearer $token" \
  --checks all \
  --exclude-path /v1/stream \
  --workers 1 \
  --max-examples "${MILLRACE_SCHEMATHESIS_EXAMPLES:-100}" \
  --seed 1 \
  --request-timeout 30 \
  --report junit --report-dir "$work/report" || status=$?

# What was exercised, by route and status (the admin writes' 2xx among them).
curl -fsS "http://127.0.0.1:$api_port/metrics" | grep '^millrace_http_requests_total' || true
kill -TERM "$api_pid"
wait "$api_pid" || { echo "api_schemathesis: millrace-api did not exit 0 on SIGTERM" >&2; status=1; }
api_pid=
if grep -q ' ERROR ' "$logs/$schema.api.log"; then
  echo "api_schemathesis: millrace-api logged errors ($logs/$schema.api.log):" >&2
  grep ' ERROR ' "$logs/$schema.api.log" | head -20 >&2
  status=1
fi
exit "$status"
