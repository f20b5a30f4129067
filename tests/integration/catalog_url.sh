#!/usr/bin/env bash
# integration.catalog-url: `millrace catalog load URL` against a local HTTP
# server (Python's http.server) and the test stack (MILLRACE_STATE_DIR), in
# a schema of its own: the format from the Content-Type or the path, the
# size cap, an HTTP error, and --every reloading a catalog that changes
# between two loads, an unchanged source writing nothing.
#
#   catalog_url.sh SOURCE_DIR BIN_DIR
set -euo pipefail
src=$1
bin=$2
eval "$("$src/deploy/local/stack" env)"
unset $("$src/scripts/services" roles | tr '[:lower:]' '[:upper:]' | sed 's/.*/MILLRACE_&_PG/')
export MILLRACE_PG
export MILLRACE_PG_SCHEMA=catalog_url_$$_$RANDOM
millrace=$bin/millrace
work=$(mktemp -d)
server_pid= every_pid=
cleanup() {
  [[ -n $every_pid ]] && kill -9 "$every_pid" 2>/dev/null || true
  [[ -n $server_pid ]] && kill "$server_pid" 2>/dev/null || true
  psql -X -q "$MILLRACE_PG" -c "DROP SCHEMA IF EXISTS $MILLRACE_PG_SCHEMA CASCADE" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "catalog_url: $*" >&2; exit 1; }
sql() { psql -X -At "$MILLRACE_PG" -c "SET search_path = $MILLRACE_PG_SCHEMA; $1" | tail -n 1; }

"$millrace" migrate >/dev/null
mkdir -p "$work/www"
"$millrace" generate --catalog categories --format csv >"$work/www/categories.csv"
"$millrace" generate --catalog products >"$work/www/products.ndjson"
port=$("$src/tests/support/free-port")
python3 -m http.server "$port" --bind 127.0.0.1 --directory "$work/www" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$port/" >/dev/null 2>&1 && break; sleep 0.1; done
base=http://127.0.0.1:$port
categories=$(($(wc -l <"$work/www/categories.csv") - 1))

# CSV by its Content-Type (text/csv), then NDJSON by the path (the server
# says application/octet-stream for .ndjson).
out=$("$millrace" catalog load "$base/categories.csv")
grep -q "\"inserted\":$categories," <<<"$out" || fail "categories by URL: $out"
out=$("$millrace" catalog load "$base/products.ndjson")
grep -q '"table":"products"' <<<"$out" && grep -q '"refused":0' <<<"$out" ||
  fail "products by URL: $out"
(($(sql "SELECT count(*) FROM products") == $(wc -l <"$work/www/products.ndjson"))) ||
  fail "products not all stored"

# A body past the cap, and an HTTP error: exit 1, the cause named.
status=0
"$millrace" catalog load --max-bytes 100 "$base/categories.csv" >/dev/null 2>"$work/err" || status=$?
((status == 1)) && grep -q "larger than the cap of 100 bytes" "$work/err" ||
  fail "cap: exit $status, $(cat "$work/err")"
status=0
"$millrace" catalog load "$base/nope.csv" >/dev/null 2>"$work/err" || status=$?
((status == 1)) && grep -q "answered HTTP 404" "$work/err" ||
  fail "404: exit $status, $(cat "$work/err")"

# --every: the first round changes nothing (loaded above), then one row
# changed and one added are written, and nothing else.
"$millrace" catalog load --every 1s "$base/categories.csv" >"$work/every.out" 2>"$work/every.log" &
every_pid=$!
waitfor() {
  for _ in $(seq 1 300); do grep -q "$1" "$work/every.log" && return 0; sleep 0.1; done
  fail "--every never logged \"$1\": $(cat "$work/every.log")"
}
waitfor "categories.csv: no change ($categories unchanged, 0 refused)"
before=$(sql "SELECT count(*) FROM categories")
first=$(python3 -c 'import csv, sys; print(list(csv.reader(open(sys.argv[1])))[1][0])' \
  "$work/www/categories.csv")
python3 - "$work/www/categories.csv" <<'PY'
import csv, sys
path = sys.argv[1]
rows = list(csv.reader(open(path, newline="")))
header, first = rows[0], rows[1]
first[header.index("display_name")] = "Renamed by the URL test"
extra = dict(zip(header, first))
extra.update(name="url-test-added", display_name="Added by the URL test")
rows.append([extra[h] for h in header])
csv.writer(open(path, "w", newline="")).writerows(rows)
PY
waitfor "categories.csv: 1 inserted, 1 updated ($((categories - 1)) unchanged, 0 refused)"
[[ $(sql "SELECT display_name FROM categories WHERE name = '$first'") == "Renamed by the URL test" ]] ||
  fail "the changed row was not written"
(($(sql "SELECT count(*) FROM categories") == before + 1)) || fail "the added row was not written"
kill -TERM "$every_pid"
status=0
wait "$every_pid" || status=$?
every_pid=
((status == 0)) || fail "--every exited $status on SIGTERM: $(cat "$work/every.log")"
grep -q "stopped" "$work/every.log" || fail "--every did not say it stopped"
echo "catalog_url: loads by URL, its cap, an HTTP error and --every reloads passed"
