#!/usr/bin/env bash
# integration.declared-views (and fault.declared-views): views a retailer
# declares in a file, with no code (issue 80). tests/integration/
# declared_views/sale.json declares a kind of sale and seven views: per store
# per hour in America/New_York, the top 10 skus per local day, a top 2 with
# ties, revenue per category every 15 minutes, a rolling hour every 5
# minutes, a rolling week every local day, and the top 3 of the catalog's
# categories (by the sale's sku: some skus the catalog, loaded first, does
# not know) per store and local day. Sales of two weeks across both
# of 2026's daylight-saving changes are produced, folded by
# millrace-aggregator --kind sale, then late sales and resends; every view,
# read through `millrace views` and millrace-api, must equal DuckDB's
# recomputation from the produced lines (declared_views_check.py).
# declared_views/order.views.json adds three views to the built-in orders, in
# a views file beside the declarations: generated orders folded by
# millrace-aggregator --kind order must be served by millrace-api as they
# are recomputed from the orders. declared_views/store_event.views.json adds
# two views to the built-in store event (per store per local hour in New
# York, the top 10 skus per local day): the sales as store events, with
# resends and ids reused at another time, folded by the default
# millrace-aggregator, must equal DuckDB's recomputation and be served by
# millrace-api. A views file of no kind, and a bad one of the store event,
# are refused at start, naming the file.
#
# Then views are added, changed and removed, and filled from the sales
# before them: millrace-archiver has archived those, and Kafka deleted the
# first half of each partition, which the fills read from the archive.
# millrace-api says which views are not filled yet (Millrace-View-Fill),
# and the aggregator's /metrics carries the catalog it follows.
#
# With `faults`, the aggregator is SIGKILLed every few seconds while it
# folds, and the broker restarted once: the views must still be exact.
#
#   declared_views.sh plain|faults SOURCE_DIR BIN_DIR   (MILLRACE_STATE_DIR: the stack)
set -euo pipefail
mode=$1
src=$2
bin=$3
# The aggregator and the API run as their own roles, with what `millrace
# grant` and `millrace api grant` give them (the views' tables and views).
role_url() { "$src/deploy/local/stack" env | sed -n "s/^export MILLRACE_$1_PG='\(.*\)'$/\1/p"; }
aggregator_pg=$(role_url AGGREGATOR)
api_pg=$(role_url API)
. "$src/tests/stack_env.sh" "$src"
[[ -n $aggregator_pg && -n $api_pg ]] || { echo "the stack printed no service roles" >&2; exit 1; }
role_of() { sed -E 's|^[a-z]+://([^:@/]+).*|\1|' <<<"$1"; }
name=dviews_$$_$RANDOM
export MILLRACE_PG MILLRACE_BROKERS
export MILLRACE_PG_SCHEMA=$name MILLRACE_SALES_TOPIC=$name MILLRACE_ORDERS_TOPIC=${name}_orders
export MILLRACE_TOPIC=${name}_store
export MILLRACE_BATCH_MS=100
# The catalog the aggregator follows for the view grouped by it.
export MILLRACE_CHANGES_TOPIC=$name.changes
# Sales of March and November, produced in November: none is late by the
# aggregator's horizon, which this test does not exercise.
export MILLRACE_MAX_LATENESS_S=$((400 * 86400))
millrace=$bin/millrace
python=$src/.cache/venv/bin/python
work=$(mktemp -d)
export MILLRACE_KINDS_DIR=$work/kinds
mkdir -p "$MILLRACE_KINDS_DIR"
cp "$src/tests/integration/declared_views/sale.json" "$src/tests/integration/declared_views/order.views.json" \
  "$src/tests/integration/declared_views/store_event.views.json" "$MILLRACE_KINDS_DIR/"
aggregator=
api=
archiver=
cleanup() {
  for pid in $aggregator $api $archiver; do kill -KILL "$pid" 2>/dev/null || true; done
  psql -X -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $name CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "declared_views: $*" >&2
  for log in "$work"/*.log; do echo "--- $log" >&2; tail -n 30 "$log" >&2; done
  exit 1
}
sql() { psql -X -At "$MILLRACE_PG" -c "SET search_path = $name; $1" | tail -n 1; }
waitfor() {
  local what=$1 seconds=$2
  for _ in $(seq 1 $((seconds * 5))); do eval "$what" && return 0; sleep 0.2; done
  fail "waited ${seconds}s for: $what"
}
# `stop PID WHAT`: SIGTERM, and the exit status must be 0 (a clean stop);
# otherwise fails naming it (143: the signal's default, a crash: 128 + its
# signal).
stop() {
  local pid=$1 what=$2 status=0
  kill -TERM "$pid" 2>/dev/null || fail "$what had already exited"
  wait "$pid" || status=$?
  ((status == 0)) || fail "$what did not stop cleanly (exit $status)"
}
# `consumed [KIND]`, `start_aggregator [KIND]`: the sale's by default;
# `store_event` is the default aggregator's, whose group has no suffix.
# start_aggregator returns once the new process has said where its metrics
# are (its signals are handled from then on): a SIGTERM sent to a process
# still loading its libraries ends it by the signal's default (exit 143).
group_of() { [[ ${1:-sale} == store_event ]] && echo millrace-aggregator || echo "millrace-aggregator-${1:-sale}"; }
consumed() {
  sql "SELECT coalesce(sum(consumed), 0) FROM partition_accounting WHERE group_id = '$(group_of "$@")'"
}
start_aggregator() {
  if [[ $mode == faults ]]; then export MILLRACE_BATCH_SIZE=25 MILLRACE_BATCH_MS=10; fi
  local kind=(--kind "${1:-sale}")
  [[ ${1:-sale} == store_event ]] && kind=()
  MILLRACE_PG=$aggregator_pg MILLRACE_MIGRATE=false MILLRACE_METRICS_ADDR=127.0.0.1:0 \
    "$millrace-aggregator" "${kind[@]}" >>"$work/aggregator.log" 2>&1 &
  aggregator=$!
  local before=$started_aggregators
  started_aggregators=$((started_aggregators + 1))
  waitfor '(( $(grep -c "metrics at http" "$work/aggregator.log") > before ))' 60
}
started_aggregators=0
# The store event's views against DuckDB: its declaration with the views of
# the store_event.views.json in use, recomputed from the store events.
check_store_views() {
  "$python" - "$src/proto/kinds/store_event.json" "$MILLRACE_KINDS_DIR/store_event.views.json" \
    "$work/store_event.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["views"] = json.load(open(sys.argv[2]))["views"]
json.dump(d, open(sys.argv[3], "w"))
PY
  "$python" "$src/tests/integration/declared_views_check.py" check \
    "$work/store_event.json" "$millrace" "$work/store.ndjson"
}
# A views file refused at start as a bad setting (exit 2), naming it:
# `refused FILE JSON WHAT COMMAND...`.
refused() {
  local file=$1 json=$2 what=$3 dir status=0
  shift 3
  dir=$(mktemp -d -p "$work")
  echo "$json" >"$dir/$file"
  MILLRACE_KINDS_DIR=$dir MILLRACE_METRICS_ADDR=127.0.0.1:0 timeout 60 "$@" >"$dir/log" 2>&1 || status=$?
  [[ $status == 2 ]] || fail "$* with $file ($json) exited $status, not 2: $(tail -n 3 "$dir/log")"
  grep -qF "$file: $what" "$dir/log" || fail "$file was not refused by name: $(tail -n 3 "$dir/log")"
}

# A view named like a table is refused by name, before anything is made.
mkdir -p "$work/clash"
sed 's/"name": "revenue_per_category_15m"/"name": "sales"/' \
  "$MILLRACE_KINDS_DIR/sale.json" >"$work/clash/sale.json"
if MILLRACE_KINDS_DIR=$work/clash "$millrace" migrate >"$work/clash.log" 2>&1; then
  fail "a view named like the kind's table (sales) was not refused"
fi
grep -q "view sales: its name is one of the kind's tables" "$work/clash.log" ||
  fail "the refusal of a view named sales does not say why: $(tail -n 3 "$work/clash.log")"
# A bad views file of the store event is refused by its aggregator at
# start; and a views file of no kind.
refused store_event.views.json '{"kind": "store_event", "views": [{"name": "v"}]}' \
  "views[0]" "$millrace-aggregator" --check-config
refused invoice.views.json '{"kind": "invoice", "views": []}' 'no kind "invoice"' "$millrace" migrate
"$millrace" migrate >"$work/migrate.log"
grep -q "^kind order: " "$work/migrate.log" || fail "millrace migrate made no tables for order.views.json"
[[ $(sql "SELECT to_regclass('agg_view_store_top_skus_per_local_day') IS NOT NULL") == t ]] ||
  fail "millrace migrate made no table for store_event.views.json's view"
# Tables made before aggregator_views recorded their shapes (migration
# 0021) are taken as they are, their shapes read from the catalog: none is
# made again.
psql -X -q "$MILLRACE_PG" -c "SET search_path = $name; DELETE FROM aggregator_views" >/dev/null
"$millrace" migrate >/dev/null
[[ $(sql "SELECT string_agg(DISTINCT state, ',') FROM aggregator_views WHERE kind = 'sale'") == filled ]] ||
  fail "tables made before their shapes were recorded were not taken as they are"
"$millrace" create-topics >/dev/null
"$millrace" grant --aggregator "$(role_of "$aggregator_pg")" >/dev/null
"$millrace" api grant --reader "$(role_of "$api_pg")" >/dev/null
"$python" "$src/tests/integration/declared_views_check.py" generate "$work"
"$millrace" catalog load "$work/categories.csv" >/dev/null
"$millrace" catalog load "$work/products.csv" >/dev/null
first=$(wc -l <"$work/first.ndjson")
second=$(wc -l <"$work/second.ndjson")
if [[ $mode == plain ]]; then
  "$millrace" produce --kind sale --file "$work/first.ndjson" >/dev/null
  start_aggregator
else
  # Sales flow in 30 chunks while the aggregator folds them: it is
  # SIGKILLed right after every third chunk is produced (while it folds it,
  # in small batches, so that many commits are in flight), and the broker
  # is SIGKILLed and restarted once, half-way. Each kill's progress is
  # printed: the kills land mid-stream.
  split -n l/30 -d "$work/first.ndjson" "$work/chunk."
  start_aggregator
  round=0
  produced=0
  killed_at=0
  for chunk in "$work"/chunk.*; do
    round=$((round + 1))
    "$millrace" produce --kind sale --file "$chunk" >/dev/null
    produced=$((produced + $(wc -l <"$chunk")))
    if ((round % 3 == 0)); then
      # Once this aggregator has committed something of its own: it is
      # folding the rest when the kill comes.
      waitfor '(( $(consumed) > killed_at ))' 60
      killed_at=$(consumed)
      echo "SIGKILL after chunk $round: $killed_at of $produced produced records accounted"
      kill -KILL "$aggregator" 2>/dev/null || true
      wait "$aggregator" 2>/dev/null || true
      if ((round == 15)); then
        broker=$("$src/deploy/local/stack" status 2>&1 | sed -n 's/^kafka: *running (pid \([0-9]*\).*/\1/p')
        [[ -n $broker ]] || fail "no broker pid in deploy/local/stack status"
        kill -KILL "$broker"
        sleep 2
        "$src/deploy/local/stack" up kafka >>"$work/kafka.log" 2>&1 || fail "the broker did not restart"
      fi
      start_aggregator
    fi
  done
fi
waitfor '(( $(consumed) >= first ))' 180
# The catalog the aggregator follows for the view grouped by it reports on
# the aggregator's own /metrics (as a sink's enrichment does on the sink's):
# loaded, and followed. The aggregator started last (with `faults`, just
# restarted: the records may all have been accounted by the one killed
# before it) trusts the catalog once it has loaded it, within a minute.
catalog_trusted() {
  metrics_url=$(sed -n 's|.*metrics at \(http://[^ ]*/metrics\),.*|\1|p' "$work/aggregator.log" | tail -n 1)
  [[ -n $metrics_url ]] && curl -fsS "$metrics_url" >"$work/aggregator.metrics" 2>/dev/null &&
    grep -Eq '^millrace_cache_trusted(\{[^}]*\})? 1$' "$work/aggregator.metrics"
}
for _ in $(seq 1 300); do catalog_trusted && break; sleep 0.2; done
[[ -n $metrics_url ]] || fail "the aggregator logged no metrics address"
catalog_trusted ||
  fail "the aggregator's /metrics ($metrics_url) had no millrace_cache_trusted 1 for the catalog it follows within a minute: $(grep millrace_cache_ "$work/aggregator.metrics" 2>/dev/null | head -n 5)"
grep -Eq '^millrace_cache_rebuilds_total(\{[^}]*\})? [1-9]' "$work/aggregator.metrics" ||
  fail "the aggregator's /metrics counts no load of the catalog (millrace_cache_rebuilds_total)"
"$millrace" produce --kind sale --file "$work/second.ndjson" >/dev/null
if [[ $mode == faults ]]; then
  sleep 1
  kill -KILL "$aggregator" 2>/dev/null || true
  wait "$aggregator" 2>/dev/null || true
  start_aggregator
fi
waitfor '(( $(consumed) >= first + second ))' 180
stop "$aggregator" "the aggregator"
aggregator=
[[ $(sql "SELECT sum(duplicate) FROM partition_accounting WHERE group_id = 'millrace-aggregator-sale'") -ge 150 ]] ||
  fail "the resends were not counted duplicate"

"$python" "$src/tests/integration/declared_views_check.py" check \
  "$MILLRACE_KINDS_DIR/sale.json" "$millrace" "$work/first.ndjson" "$work/second.ndjson" ||
  fail "a view differs from DuckDB's recomputation"

# The built-in orders, with the views of order.views.json.
"$millrace" generate --kind order --count 400 --seed 80 --bad-ratio 0 --time-spread 172800 >"$work/orders.ndjson"
"$millrace" produce --kind order --file "$work/orders.ndjson" >/dev/null
start_aggregator order
waitfor '(( $(consumed order) >= $(wc -l <"$work/orders.ndjson") ))' 180
stop "$aggregator" "the orders' aggregator"
aggregator=

# The built-in store event, with the views of store_event.views.json, folded
# by the default aggregator (no --kind); with `faults`, SIGKILLed once while
# it folds.
"$python" "$src/tests/integration/declared_views_check.py" store-events "$work"
"$millrace" produce --file "$work/store.ndjson" >/dev/null
start_aggregator store_event
if [[ $mode == faults ]]; then
  waitfor '(( $(consumed store_event) > 0 ))' 60
  echo "SIGKILL of the store events' aggregator: $(consumed store_event) accounted"
  kill -KILL "$aggregator" 2>/dev/null || true
  wait "$aggregator" 2>/dev/null || true
  start_aggregator store_event
fi
waitfor '(( $(consumed store_event) >= $(wc -l <"$work/store.ndjson") ))' 180
stop "$aggregator" "the store events' aggregator"
aggregator=
[[ $(sql "SELECT coalesce(sum(records), 0) FROM record_outcomes WHERE group_id = 'millrace-aggregator' AND outcome = 'persisted' AND reason = 'id_reused'") -ge 50 ]] ||
  fail "the store events reusing an id at another time were not counted persisted (id_reused)"
check_store_views ||
  fail "a view of store_event.views.json differs from DuckDB's recomputation"

# Served: by millrace-api, described in its OpenAPI document.
port=$("$src/tests/support/free-port")
start_api() {
  MILLRACE_API_PG=$api_pg MILLRACE_API_ADDR=127.0.0.1:$port MILLRACE_REDIS_URL= MILLRACE_METRICS_ADDR=127.0.0.1:0 \
    "$millrace-api" >>"$work/api.log" 2>&1 &
  api=$!
  waitfor "curl -fsS http://127.0.0.1:$port/readyz >/dev/null 2>&1" 30
}
stop_api() {
  stop "$api" "millrace-api"
  api=
}
# What millrace-api says of a view's fill: its Millrace-View-Fill header
# and its JSON's fill.state, as "HEADER/STATE" (empty where absent).
api_fill() {
  curl -fsS -D "$work/fill.headers" "http://127.0.0.1:$port/v1/views/$1?limit=1" |
    python3 -c 'import json, sys; print(json.load(sys.stdin).get("fill", {}).get("state", ""))' >"$work/fill.state"
  echo "$(tr -d '\r' <"$work/fill.headers" | sed -n 's/^[Mm]illrace-[Vv]iew-[Ff]ill: //p')/$(cat "$work/fill.state")"
}
start_api
[[ $(api_fill top_skus_per_local_day) == / ]] ||
  fail "millrace-api says a filled view is not: $(api_fill top_skus_per_local_day)"
curl -fsS "http://127.0.0.1:$port/v1/openapi.yaml" >"$work/openapi.yaml" ||
  fail "millrace-api serves no OpenAPI document"
grep -q '^  /v1/views/top_skus_per_local_day:$' "$work/openapi.yaml" ||
  fail "the OpenAPI document has no path for a declared view"
rows=$(curl -fsS "http://127.0.0.1:$port/v1/views/top_skus_per_local_day?limit=1000" |
  python3 -c 'import json, sys; print(len(json.load(sys.stdin)["rows"]))')
[[ $rows == $("$millrace" views top_skus_per_local_day --format csv | tail -n +2 | wc -l) ]] ||
  fail "the API serves $rows rows of top_skus_per_local_day, millrace views another count"
# A dimension filters: only store 2's hours, all of them.
curl -fsS "http://127.0.0.1:$port/v1/views/sales_per_store_hour?store_id=2&limit=10000" |
  python3 -c 'import json, sys; rows = json.load(sys.stdin)["rows"]
assert rows and all(r["store_id"] == 2 for r in rows), rows[:3]; print(len(rows))' >"$work/store2" ||
  fail "?store_id=2 served rows of other stores"
[[ $(cat "$work/store2") == $(sql "SELECT count(*) FROM sales_per_store_hour WHERE store_id = 2") ]] ||
  fail "?store_id=2 served $(cat "$work/store2") rows"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/v1/views/sales_per_store_hour?sku=2")
[[ $status == 400 ]] || fail "a filter on a column that is no dimension answered $status, not 400"
rows=$(curl -fsS "http://127.0.0.1:$port/v1/views/store_top_skus_per_local_day?limit=1000" |
  python3 -c 'import json, sys; print(len(json.load(sys.stdin)["rows"]))')
[[ $rows -gt 0 && $rows == $("$millrace" views store_top_skus_per_local_day --format csv | tail -n +2 | wc -l) ]] ||
  fail "the API serves $rows rows of the store event's store_top_skus_per_local_day, millrace views another count"
for view in order_revenue_hourly order_units_per_product_hourly order_top_products_daily; do
  curl -fsS "http://127.0.0.1:$port/v1/views/$view?limit=10000" >"$work/$view.json" ||
    fail "millrace-api does not serve $view, of order.views.json"
done
"$python" "$src/tests/integration/declared_views_check.py" orders "$work/orders.ndjson" \
  "$work/order_revenue_hourly.json" "$work/order_units_per_product_hourly.json" \
  "$work/order_top_products_daily.json" ||
  fail "a view of order.views.json served differs from its recomputation from the orders"
stop_api

# Records past Kafka's retention are filled from the archive (docs/views.md,
# "Adding, changing or removing a view"): millrace-archiver archives every
# sale so far, then the first half of each partition leaves Kafka
# (DeleteRecords, as retention would delete them: the log start moves on).
# The fills below read those from the archive, the rest from Kafka: none
# is missing, and the views still equal DuckDB's.
export MILLRACE_ARCHIVE_URL=file://$work/archive MILLRACE_AGGREGATOR_ARCHIVE_GROUP=${name}_archiver
MILLRACE_TOPIC=$name MILLRACE_ARCHIVER_GROUP=${name}_archiver MILLRACE_METRICS_ADDR=127.0.0.1:0 \
  "$millrace-archiver" --window-s 1 >"$work/archiver.log" 2>&1 &
archiver=$!
stored_offsets() {
  sql "SELECT coalesce(sum(next_offset), 0) FROM consumer_offsets WHERE group_id = '$1' AND topic = '$name'"
}
waitfor '(( $(stored_offsets ${name}_archiver) == $(stored_offsets millrace-aggregator-sale) ))' 120
stop "$archiver" "the archiver"
archiver=
psql -X -At "$MILLRACE_PG" -c "SELECT partition || ':' || next_offset / 2 FROM $name.consumer_offsets
  WHERE group_id = 'millrace-aggregator-sale' AND topic = '$name'" >"$work/delete-before"
"$python" - "$MILLRACE_BROKERS" "$name" "$work/delete-before" <<'PY' || fail "Kafka did not delete the first sales"
import sys
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
brokers, topic, path = sys.argv[1:]
before = {TopicPartition(topic, int(p)): int(o) for p, o in
          (line.split(":") for line in open(path).read().split())}
KafkaAdminClient(bootstrap_servers=brokers, request_timeout_ms=30000).delete_records(
    before, timeout_ms=30000)
start = KafkaConsumer(bootstrap_servers=brokers).beginning_offsets(list(before))
assert all(start[tp] == o for tp, o in before.items()), (start, before)
print(f"Kafka's log starts at {sorted((tp.partition, o) for tp, o in start.items())}")
PY

# Views added, changed and removed once the sales are folded (docs/views.md,
# "Adding, changing or removing a view"): `millrace migrate` makes the new
# view (grouped by the catalog), makes the changed one again (another
# window, one more measure) and
# drops the removed one; the aggregator, started again, fills the two from
# the topic's sales before its offsets while new sales and resends come,
# which it folds into every view. With `faults`, it is SIGKILLed while it
# fills, in chunks of 10 sales.
mkdir -p "$work/changed"
cp "$MILLRACE_KINDS_DIR"/order.views.json "$work/changed/"
# And one added to the store event's, filled from its topic: an id reused at
# another time is another event there too.
"$python" - "$MILLRACE_KINDS_DIR/store_event.views.json" "$work/changed/store_event.views.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["views"].append({"name": "store_events_per_category_day", "window": {"size": "1d"},
                   "group_by": ["category"],
                   "measures": [{"as": "events", "op": "count"},
                                {"as": "units", "op": "sum", "of": ["qty"]}]})
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
"$python" - "$MILLRACE_KINDS_DIR/sale.json" "$work/changed/sale.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
views = {v["name"]: v for v in d["views"]}
del views["weekly_per_store_ny"]
changed = views["revenue_per_category_15m"]
changed["window"] = {"size": "30m"}
changed["measures"].append({"as": "units", "op": "sum", "of": ["qty"]})
views["top_categories_per_store_day"] = {
    "name": "top_categories_per_store_day",
    "window": {"size": "1d", "time_zone": "America/New_York"},
    "group_by": ["store_id", {"catalog": "category"}],
    "measures": [{"as": "sales", "op": "count"},
                 {"as": "revenue", "op": "sum", "of": ["price", "qty", {"percent_off": "discount"}]}],
    "top": {"n": 2, "by": "revenue", "per": ["store_id"], "then": [{"catalog": "category"}]}}
d["views"] = list(views.values())
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
export MILLRACE_KINDS_DIR=$work/changed
"$millrace" migrate >"$work/migrate-changed.log" 2>&1 ||
  fail "millrace migrate refused the changed views: $(tail -n 3 "$work/migrate-changed.log")"
"$millrace" grant --aggregator "$(role_of "$aggregator_pg")" >/dev/null
"$millrace" api grant --reader "$(role_of "$api_pg")" >/dev/null
[[ $(sql "SELECT to_regclass('weekly_per_store_ny') IS NULL AND to_regclass('agg_view_weekly_per_store_ny') IS NULL") == t ]] ||
  fail "the removed view weekly_per_store_ny or its table is still there"
unfilled=$(sql "SELECT string_agg(view_name, ',' ORDER BY view_name) FROM aggregator_views WHERE kind = 'sale' AND state = 'unfilled'")
[[ $unfilled == revenue_per_category_15m,top_categories_per_store_day ]] ||
  fail "the views waiting to be filled are '$unfilled', not the changed and the new one"
[[ $(sql "SELECT state FROM aggregator_views WHERE view_name = 'store_events_per_category_day'") == unfilled ]] ||
  fail "the view added to the store event's does not wait to be filled"
[[ $(sql "SELECT count(*) FROM agg_view_revenue_per_category_15m") == 0 ]] ||
  fail "the changed view's table kept rows of its old window"
"$millrace" views top_categories_per_store_day --format csv 2>&1 >/dev/null |
  grep -q "^note: view top_categories_per_store_day was made after its kind's records were folded and waits for its aggregator to fill it" ||
  fail "millrace views does not say that a view waits to be filled"
# The API says so too, to a client: a header, and fill in the JSON.
start_api
[[ $(api_fill top_categories_per_store_day) == unfilled/unfilled ]] ||
  fail "millrace-api does not say that a view waits to be filled: '$(api_fill top_categories_per_store_day)'"
curl -fsS -H 'Accept: text/csv' -D - -o /dev/null "http://127.0.0.1:$port/v1/views/revenue_per_category_15m" |
  grep -qi '^millrace-view-fill: unfilled' || fail "the CSV of an unfilled view has no Millrace-View-Fill header"
fill_progress() { sql "SELECT coalesce(sum(done_offset), 0) FROM aggregator_view_fills"; }
unfinished() { sql "SELECT count(*) FROM aggregator_views WHERE kind = 'sale' AND state <> 'filled'"; }
third=$(wc -l <"$work/third.ndjson")
if [[ $mode == faults ]]; then export MILLRACE_VIEW_FILL_CHUNK=10; fi
start_aggregator
"$millrace" produce --kind sale --file "$work/third.ndjson" >/dev/null
if [[ $mode == faults ]]; then
  last=0
  for kill in 1 2 3; do
    waitfor '(( $(fill_progress) > last || $(unfinished) == 0 ))' 120
    (($(unfinished) == 0)) && break
    last=$(fill_progress)
    echo "SIGKILL while filling: offsets $last done"
    kill -KILL "$aggregator" 2>/dev/null || true
    wait "$aggregator" 2>/dev/null || true
    start_aggregator
  done
fi
waitfor '(( $(unfinished) == 0 ))' 180
waitfor '(( $(consumed) >= first + second + third ))' 180
stop "$aggregator" "the aggregator"
aggregator=
[[ -z $("$millrace" views top_categories_per_store_day --format csv 2>&1 >/dev/null) ]] ||
  fail "millrace views still notes something of a filled view"
[[ $(api_fill top_categories_per_store_day) == / ]] ||
  fail "millrace-api still says a filled view is not: $(api_fill top_categories_per_store_day)"
stop_api
[[ $(sql "SELECT coalesce(sum(missing), 0) FROM aggregator_view_fills") == 0 ]] ||
  fail "a fill counted offsets missing although the archive holds those Kafka deleted"
grep -q "archived file(s) of $name\[" "$work/aggregator.log" ||
  fail "no fill read the archive for the sales Kafka deleted"
"$python" "$src/tests/integration/declared_views_check.py" check \
  "$MILLRACE_KINDS_DIR/sale.json" "$millrace" "$work/first.ndjson" "$work/second.ndjson" \
  "$work/third.ndjson" || fail "after the views changed, a view differs from DuckDB's recomputation"
# The store event's aggregator fills its new view.
start_aggregator store_event
waitfor '[[ $(sql "SELECT state FROM aggregator_views WHERE view_name = '"'store_events_per_category_day'"'") == filled ]]' 180
stop "$aggregator" "the store events' aggregator"
aggregator=
check_store_views ||
  fail "after a view was added to the store event's, a view differs from DuckDB's recomputation"
echo "declared views ($mode): every view equals DuckDB's, the API serves them and order.views.json's, and views added or changed later are filled"
