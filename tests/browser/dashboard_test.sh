#!/usr/bin/env bash
# browser.dashboard: the live dashboard in a real browser. Debian's chromium,
# driven headless by playwright-core (pinned in package-lock.json; scripts/bootstrap
# installs both), opens the page millrace-api serves, while a sink, an
# aggregator and the change feed run on a schema, topics, slot and groups of
# this test's own. dashboard.test.mjs produces events with the CLI and waits
# for the page to show what SQL says (and the declared views' panels what
# GET /v1/views/<name> serves), adds two views to the orders and holds their
# fills (the page must say filling, then filled), stops and restarts
# millrace-api, and saves screenshots under BUILD_DIR/test-logs
# (docs/dashboard.md).
#
#   dashboard_test.sh SOURCE_DIR BUILD_DIR   (MILLRACE_STATE_DIR: the stack)
set -euo pipefail

src=$1
build=$2
here=$src/tests/browser
chromium=${MILLRACE_CHROMIUM:-/usr/bin/chromium}

fail_setup() {
  echo "dashboard_test: $*; run scripts/bootstrap (it installs chromium, and playwright-core" \
    "into tests/browser/node_modules with npm ci)" >&2
  exit 1
}
command -v node >/dev/null 2>&1 || fail_setup "node is not installed"
[[ -x $chromium ]] || fail_setup "$chromium is not installed"
pinned=$(node -e 'console.log(require(process.argv[1]).packages["node_modules/playwright-core"].version)' \
  "$here/package-lock.json")
installed=$(node -e 'console.log(require(process.argv[1]).version)' \
  "$here/node_modules/playwright-core/package.json" 2>/dev/null) ||
  fail_setup "playwright-core is not installed in $here/node_modules"
[[ $installed == "$pinned" ]] ||
  fail_setup "$here/node_modules has playwright-core $installed, the lockfile pins $pinned"

. "$src/tests/stack_env.sh" "$src"
: "${MILLRACE_CHANGEFEED_PG:?the stack printed no MILLRACE_CHANGEFEED_PG}"
feed_role=$(sed -E 's|^[a-z]+://([^:@/]+).*|\1|' <<<"$MILLRACE_CHANGEFEED_PG")
suffix="$$_$RANDOM"
name=dash_$suffix
reader=${name}_reader
password=dash-pw
logs=$build/test-logs
work=$build/dashboard-test
mkdir -p "$logs" "$work"
free_port() { "$src/tests/support/free-port"; }

# One schema, topic set, slot, publication and pair of groups for this run.
export MILLRACE_PG MILLRACE_BROKERS MILLRACE_CHANGEFEED_PG
export MILLRACE_PG_SCHEMA=$name
export MILLRACE_TOPIC=$name MILLRACE_DLQ_TOPIC=$name.dlq MILLRACE_CHANGES_TOPIC=$name.changes
export MILLRACE_SINK_GROUP=${name}_sink MILLRACE_AGGREGATOR_GROUP=${name}_aggregator
# Orders: their topic (create-topics makes it), and an aggregator of their own.
export MILLRACE_ORDERS_TOPIC=$name.orders DASHBOARD_ORDERS_GROUP=${name}_orders_aggregator
export MILLRACE_CHANGEFEED_SLOT=${name}_slot MILLRACE_CHANGEFEED_PUBLICATION=${name}_pub
export MILLRACE_MIGRATE=false MILLRACE_BATCH_MS=100 MILLRACE_SESSION_TIMEOUT_MS=6000
# Views added to the orders by a views file (one with groups, one without,
# a top N): every service reads it, and the page charts them.
export MILLRACE_KINDS_DIR=$work/$name.kinds
mkdir -p "$MILLRACE_KINDS_DIR"
cp "$src/tests/integration/declared_views/order.views.json" "$MILLRACE_KINDS_DIR/"
millrace=$build/bin/millrace

pids=()
api_pid_file=$work/$name.api.pid
# The order aggregator's: the node script stops it and starts another.
orders_pid_file=$work/$name.orders.pid
cleanup() {
  # millrace-api (and the order aggregator the script started) belong to the
  # node script, which stops them; if it was killed, the pid files say what
  # is left.
  for file in "$api_pid_file" "$orders_pid_file"; do
    if [[ -s $file ]]; then
      kill -TERM "$(cat "$file")" 2>/dev/null || true
    fi
  done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "$millrace" changefeed drop-slot --slot "$MILLRACE_CHANGEFEED_SLOT" >/dev/null 2>&1 || true
  psql -X -q "$MILLRACE_PG" -c "DROP PUBLICATION IF EXISTS ${name}_pub" >/dev/null 2>&1 || true
  psql -X -q "$superuser" -c "DROP OWNED BY $reader" -c "DROP ROLE $reader" >/dev/null 2>&1 || true
  psql -X -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $name CASCADE" >/dev/null 2>&1 || true
  rm -rf "$MILLRACE_KINDS_DIR"
}
trap cleanup EXIT

"$millrace" migrate >/dev/null
"$millrace" create-topics >/dev/null
"$millrace" generate --catalog categories --format csv >"$work/categories.csv"
"$millrace" generate --catalog products >"$work/products.ndjson"
"$millrace" catalog load --progress never "$work/categories.csv" >/dev/null
"$millrace" catalog load --progress never "$work/products.ndjson" >/dev/null
"$millrace" changefeed publish --grant-select "$feed_role" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 "$superuser" -c "CREATE ROLE $reader LOGIN PASSWORD '$password'" >/dev/null
"$millrace" api grant --reader "$reader" >/dev/null

# Each service on its own metrics port: tests run side by side.
start() {
  local binary=$1 label=${2:-$1}
  MILLRACE_CLIENT_ID=$name-$label MILLRACE_METRICS_ADDR=127.0.0.1:$(free_port) \
    "$build/bin/$binary" >"$logs/$name.$label.log" 2>&1 &
  pids+=($!)
}
start millrace-sink
start millrace-aggregator
MILLRACE_KIND=order MILLRACE_AGGREGATOR_GROUP=$DASHBOARD_ORDERS_GROUP start millrace-aggregator orders-aggregator
echo "${pids[-1]}" >"$orders_pid_file"
start millrace-changefeed
# The feed streams once its slot is active and consistent (a confirmed
# position): changes from then on reach the page. A slot being created is
# active already, and what commits before it is consistent is never decoded.
for _ in $(seq 1 600); do
  active=$(psql -X -At "$MILLRACE_PG" -c \
    "SELECT count(*) FROM pg_replication_slots WHERE active AND confirmed_flush_lsn IS NOT NULL AND slot_name = '${name}_slot'")
  [[ $active == 1 ]] && break
  for pid in "${pids[@]}"; do
    kill -0 "$pid" 2>/dev/null || { echo "dashboard_test: a service exited; see $logs/$name.*.log" >&2; exit 1; }
  done
  sleep 0.2
done
[[ $active == 1 ]] || { echo "dashboard_test: the change feed did not start streaming" >&2; exit 1; }

# dashboard.test.mjs starts millrace-api with this environment, stops it and
# starts it again on the same port.
api_port=$(free_port)
export MILLRACE_API_ADDR=127.0.0.1:$api_port
export MILLRACE_API_PG=postgresql://$reader:$password@127.0.0.1:$pg_port/millrace
export MILLRACE_API_DEAD_LETTER_TOPICS=$MILLRACE_DLQ_TOPIC
export DASHBOARD_URL=http://127.0.0.1:$api_port/
export DASHBOARD_API_BIN=$build/bin/millrace-api DASHBOARD_API_LOG=$logs/$name.millrace-api.log
export DASHBOARD_API_PID_FILE=$api_pid_file
# For the views the script adds: the order aggregator it starts again, and
# the publication and the reader's grants it makes again.
export DASHBOARD_ORDERS_PID_FILE=$orders_pid_file DASHBOARD_AGGREGATOR_BIN=$build/bin/millrace-aggregator
export DASHBOARD_ORDERS_LOG=$logs/$name.orders-aggregator-again.log DASHBOARD_CLIENT_ID=$name
export DASHBOARD_FEED_ROLE=$feed_role DASHBOARD_READER=$reader
# The page reads the views, not the catalog: the API runs without the cache.
unset MILLRACE_REDIS_URL
export DASHBOARD_MILLRACE_BIN=$millrace DASHBOARD_LOG_DIR=$logs DASHBOARD_CHROMIUM=$chromium
status=0
node "$here/dashboard.test.mjs" || status=$?

for log in "$logs/$name".*.log; do
  if grep -q ' ERROR ' "$log"; then
    echo "dashboard_test: $log has errors:" >&2
    grep ' ERROR ' "$log" | head -10 >&2
    status=1
  fi
done
exit "$status"
